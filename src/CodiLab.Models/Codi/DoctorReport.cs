using System.Text.Json.Serialization;

namespace CodiLab.Models.Codi;

/// <summary>The outcome of one doctor check.</summary>
public enum CheckStatus
{
    /// <summary>The check ran and found nothing wrong.</summary>
    Pass,
    /// <summary>The check found a problem; <see cref="DoctorCheck.Fix"/> says what to do.</summary>
    Fail,
    /// <summary>Not run, because a check it needs failed.</summary>
    Skipped,
}

/// <summary>One check of a model folder: its name, outcome, what it found and, when it failed, the fix.</summary>
public sealed record DoctorCheck(string Name, CheckStatus Status, string Detail, string? Fix = null)
{
    /// <summary>True when the check passed.</summary>
    public bool Ok => Status == CheckStatus.Pass;
}

/// <summary>Every check <see cref="ModelDoctor"/> ran on a folder, in order, with readable and JSON forms.</summary>
public sealed record DoctorReport(string ModelFolder, string TokenizerFolder, IReadOnlyList<DoctorCheck> Checks)
{
    /// <summary>True when no check failed (a skipped check only follows a failed one).</summary>
    public bool Ok => Checks.All(c => c.Status != CheckStatus.Fail);

    /// <summary>The failed checks.</summary>
    public IReadOnlyList<DoctorCheck> Failed => [.. Checks.Where(c => c.Status == CheckStatus.Fail)];

    /// <summary>The check of that name, or null.</summary>
    public DoctorCheck? this[string name] => Checks.FirstOrDefault(c => c.Name == name);

    /// <summary>One line per check (a failed one followed by its fix) and a closing count.</summary>
    public IReadOnlyList<string> ToLines()
    {
        var width = Checks.Max(c => c.Name.Length);
        var tokenizer = TokenizerFolder == ModelFolder ? "" : $" (tokenizer: {TokenizerFolder})";
        var lines = new List<string> { $"doctor {ModelFolder}" + tokenizer };
        foreach (var c in Checks)
        {
            var mark = c.Status switch { CheckStatus.Pass => "ok  ", CheckStatus.Fail => "FAIL", _ => "skip" };
            lines.Add($"{mark}  {c.Name.PadRight(width)}  {c.Detail}");
            if (c.Status == CheckStatus.Fail && c.Fix is not null) lines.Add($"{"",4}  {"".PadRight(width)}  fix: {c.Fix}");
        }
        var (passed, failed, skipped) = (Checks.Count(c => c.Ok), Failed.Count, Checks.Count(c => c.Status == CheckStatus.Skipped));
        lines.Add($"{Checks.Count} checks: {passed} passed, {failed} failed, {skipped} skipped: "
            + (Ok ? "the folder is ready to trace" : "fix the failed checks, then run doctor again"));
        return lines;
    }

    /// <summary>The report as JSON: folders, ok, and every check with status, detail and fix.</summary>
    public DoctorJson ToJson() => new(ModelFolder, TokenizerFolder, Ok,
        [.. Checks.Select(c => new DoctorCheckJson(c.Name, c.Status.ToString().ToLowerInvariant(), c.Ok, c.Detail, c.Fix))]);
}

/// <summary>One check in <c>doctor --json</c>.</summary>
public sealed record DoctorCheckJson(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("ok")] bool Ok,
    [property: JsonPropertyName("detail")] string Detail,
    [property: JsonPropertyName("fix")] string? Fix);

/// <summary><c>doctor --json</c>: the folders checked, whether every check passed, and each check.</summary>
public sealed record DoctorJson(
    [property: JsonPropertyName("model_dir")] string ModelDir,
    [property: JsonPropertyName("tokenizer_dir")] string? TokenizerDir,
    [property: JsonPropertyName("ok")] bool Ok,
    [property: JsonPropertyName("checks")] IReadOnlyList<DoctorCheckJson> Checks);
