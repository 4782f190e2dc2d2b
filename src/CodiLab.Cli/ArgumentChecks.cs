using System.CommandLine;
using CodiLab.Models.Codi;

namespace CodiLab.Cli;

/// <summary>
/// Range checks on numeric options, so that a value the command cannot use (a negative count, a batch of zero that would
/// never advance) is an argument error (exit 2) naming the option, not a hang or a stack trace later on.
/// </summary>
internal static class ArgumentChecks
{
    /// <summary>Refuses values below <paramref name="min"/>.</summary>
    public static Option<int?> AtLeast(this Option<int?> option, int min, string meaning)
    {
        option.Validators.Add(result => Check(result, option.Name, min, meaning));
        return option;
    }

    /// <summary>Refuses values below <paramref name="min"/>.</summary>
    public static Option<int> AtLeast(this Option<int> option, int min, string meaning)
    {
        option.Validators.Add(result => Check(result, option.Name, min, meaning));
        return option;
    }

    /// <summary>Refuses values below <paramref name="min"/> (and values that are not finite).</summary>
    public static Option<double> AtLeast(this Option<double> option, double min, string meaning)
    {
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1
                && double.TryParse(result.Tokens[0].Value, System.Globalization.NumberStyles.Float,
                    System.Globalization.CultureInfo.InvariantCulture, out var v)
                && !(v >= min && double.IsFinite(v)))
                result.AddError($"{option.Name} {result.Tokens[0].Value} is not allowed: {meaning}.");
        });
        return option;
    }

    // Reads the token itself: a value that is no number at all already has its own parse error, and asking the option
    // for its value then would throw.
    private static void Check(System.CommandLine.Parsing.OptionResult result, string name, int min, string meaning)
    {
        if (result.Tokens.Count == 1
            && int.TryParse(result.Tokens[0].Value, System.Globalization.NumberStyles.Integer,
                System.Globalization.CultureInfo.InvariantCulture, out var v)
            && v < min)
            result.AddError($"{name} {v} is not allowed: {meaning}.");
    }

    /// <summary>Refuses any value but <paramref name="allowed"/> (names them).</summary>
    public static Option<string> OneOf(this Option<string> option, params string[] allowed)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValue(option) is { } v && !allowed.Contains(v))
                result.AddError($"{option.Name} '{v}' is not one of {string.Join(", ", allowed)}.");
        });
        return option;
    }

    /// <summary>The --device value, once it is one libtorch can use here (exit 2 for a name, 3 for CUDA that is missing).</summary>
    public static string Device(string device)
    {
        if (device is not ("cpu" or "cuda"))
            throw new CodiLabException($"device '{device}' is not supported.", "--device", "use cpu or cuda.", ExitCodes.InvalidSpec);
        if (device == "cuda" && !TorchSharp.torch.cuda.is_available())
        {
            throw new CodiLabException("--device cuda was asked for but the loaded libtorch has no CUDA.", "--device",
                $"load a CUDA libtorch with --libtorch DIR or {CodiLab.Models.TorchRuntime.LibTorchVariable}, or use --device cpu.",
                ExitCodes.BadInput);
        }
        return device;
    }

    /// <summary>
    /// Refuses a trace whose prompt, thoughts and answer tokens would pass the model's position limit, before it runs.
    /// </summary>
    public static void Positions(CodiModel model, IReadOnlyList<int> promptIds, int maxNewTokens, string question)
    {
        if (PositionLimit.Problem(model, promptIds.Count, maxNewTokens, "--max-new-tokens") is not { } problem) return;
        var shown = question.Length > 60 ? question[..60] + "…" : question;
        throw new CodiLabException(problem, $"question \"{shown}\"",
            "lower --max-new-tokens, or shorten the question.", ExitCodes.InvalidSpec);
    }
}
