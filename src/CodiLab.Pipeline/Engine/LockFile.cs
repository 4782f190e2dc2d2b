using System.Text;
using System.Text.Json;

namespace CodiLab.Pipeline.Engine;

/// <summary>What one stage was last run (or found cached) with: like a <c>dvc.lock</c> entry.</summary>
public sealed record LockedStage(
    string Phase,
    int Version,
    string Harness,
    string Key,
    SortedDictionary<string, string> Fields,
    SortedDictionary<string, string> Inputs,
    SortedDictionary<string, FileDigest> Outputs);

/// <summary>
/// <c>artifacts/&lt;experiment&gt;/lock.json</c>: per stage its key, the fields and input hashes it used, its outputs' hashes.
/// </summary>
public sealed record LockFile(string Experiment, string Spec, SortedDictionary<string, LockedStage> Stages)
{
    /// <summary>Reads the lock file of an experiment folder, or an empty one.</summary>
    public static LockFile Read(string experimentRoot, string experiment, string spec)
    {
        var path = Path.Combine(experimentRoot, "lock.json");
        if (!File.Exists(path)) return new LockFile(experiment, spec, new(StringComparer.Ordinal));
        try
        {
            var read = JsonSerializer.Deserialize<LockFile>(File.ReadAllText(path), Hashing.Json) ?? throw new JsonException("it is null");
            return read.Checked();
        }
        catch (Exception e) when (e is JsonException or DecoderFallbackException)
        {
            throw new CodiLabException($"the lock file is unreadable ({e.Message}).", path,
                "delete it; the next run rebuilds it from the cache without recomputing cached stages.", ExitCodes.Corrupt, e);
        }
    }

    // JSON that parses but lacks what every reader relies on (`{}`, a stage without key or outputs) is as unreadable as
    // JSON that does not parse.
    private LockFile Checked()
    {
        if (Experiment is null || Spec is null || Stages is null) throw new JsonException("it lacks experiment, spec or stages");
        foreach (var (name, stage) in Stages)
        {
            var whole = stage is { Phase: not null, Harness: not null, Fields: not null, Inputs: not null, Outputs: not null }
                && stage.Key is { Length: 64 } && stage.Key.All(char.IsAsciiHexDigitLower)
                && stage.Outputs.All(o => o.Value is { Sha256.Length: 64, Size: >= 0 } && IsPlainName(o.Key))
                && IsPlainName(stage.Phase);
            if (!whole) throw new JsonException($"stage '{name}' lacks its phase, key, fields, inputs or outputs, or names a path");
        }
        return this with { Stages = new SortedDictionary<string, LockedStage>(Stages, StringComparer.Ordinal) };
    }

    // A view file or phase is a relative path inside the experiment folder: a hand-edited lock file must not reach outside.
    private static bool IsPlainName(string name) => name.Length > 0 && !Path.IsPathRooted(name)
        && !name.Split('/', '\\').Any(part => part is "" or "." or "..");

    /// <summary>Writes it atomically.</summary>
    public void Write(string experimentRoot) =>
        Hashing.WriteAtomic(Path.Combine(experimentRoot, "lock.json"), JsonSerializer.Serialize(this, Hashing.Json));
}

/// <summary>One stage execution, for <c>provenance.json</c> (kept apart from anything pinned or hashed).</summary>
/// <param name="Key">The stage's cache key.</param>
/// <param name="Started">When it started.</param>
/// <param name="Finished">When it finished.</param>
/// <param name="Seconds">How long it ran.</param>
/// <param name="Host">The machine's name.</param>
/// <param name="Harness">The harness version.</param>
/// <param name="HarnessCommit">The commit the harness was built from, with its dirty flag (embedded at build time).</param>
/// <param name="ExperimentCommit">
/// The commit (and dirty flag) of the git repository holding the spec file; null for an embedded default spec or a spec
/// outside any repository.
/// </param>
/// <param name="Runtime">The .NET runtime.</param>
/// <param name="Os">The operating system.</param>
public sealed record StageProvenance(
    string Key, DateTimeOffset Started, DateTimeOffset Finished, double Seconds, string Host, string Harness,
    GitState? HarnessCommit, GitState? ExperimentCommit, string Runtime, string Os);

/// <summary><c>artifacts/&lt;experiment&gt;/provenance.json</c>: when, where and with what each stage last ran.</summary>
public sealed record Provenance(SortedDictionary<string, StageProvenance> Stages)
{
    private const string FileName = "provenance.json";

    /// <summary>
    /// Reads it, or an empty one. An unreadable file is never replaced silently: it is moved aside to
    /// <c>provenance.json.unreadable-&lt;time&gt;</c> (its history kept for the user) with a warning on <paramref name="log"/>.
    /// </summary>
    public static Provenance Read(string experimentRoot, TextWriter log)
    {
        var path = Path.Combine(experimentRoot, FileName);
        var empty = new Provenance(new SortedDictionary<string, StageProvenance>(StringComparer.Ordinal));
        if (!File.Exists(path)) return empty;
        string? problem;
        try
        {
            var read = JsonSerializer.Deserialize<Provenance>(File.ReadAllText(path), Hashing.Json);
            if (read?.Stages is { } stages && stages.Values.All(s => s is not null))
                return read with { Stages = new SortedDictionary<string, StageProvenance>(stages, StringComparer.Ordinal) };
            problem = "it holds no stages object";
        }
        catch (JsonException e)
        {
            problem = e.Message;
        }
        catch (DecoderFallbackException e)
        {
            problem = e.Message;
        }
        var aside = $"{path}.unreadable-{DateTime.UtcNow:yyyyMMddTHHmmssfff}";
        File.Move(path, aside);
        log.WriteLine($"{path}: warning: provenance file unreadable ({problem}); kept as {Path.GetFileName(aside)} and started anew.");
        return empty;
    }

    /// <summary>Writes it atomically.</summary>
    public void Write(string experimentRoot) =>
        Hashing.WriteAtomic(Path.Combine(experimentRoot, FileName), JsonSerializer.Serialize(this, Hashing.Json));
}
