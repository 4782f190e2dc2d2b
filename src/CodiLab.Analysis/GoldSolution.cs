using System.Globalization;
using System.Text.RegularExpressions;

namespace CodiLab.Analysis;

/// <summary>One calculator annotation of a GSM8K solution, <c>&lt;&lt;a*b=c&gt;&gt;</c>: the expression, its numbers, its result.</summary>
/// <param name="Expression">The left-hand side as written ("48/2").</param>
/// <param name="Operands">Every number in the expression, normalised (<see cref="GoldSolution.Normalize"/>).</param>
/// <param name="Result">The right-hand side, normalised.</param>
public sealed record SolutionStep(string Expression, IReadOnlyList<string> Operands, string Result);

/// <summary>
/// The intermediate results of a worked GSM8K solution: its <c>&lt;&lt;expression=result&gt;&gt;</c> annotations in order and
/// the final answer after <c>####</c>. Numbers are compared as normalised text (<see cref="Normalize"/>), so "24.00",
/// "24" and "24.0" are one value and "1,200" is "1200".
/// </summary>
public sealed partial record GoldSolution(IReadOnlyList<SolutionStep> Steps, string? Final)
{
    /// <summary>Parses a solution text; annotations whose result is not a number are skipped.</summary>
    public static GoldSolution Parse(string solution)
    {
        var steps = new List<SolutionStep>();
        foreach (Match m in Annotation().Matches(solution))
        {
            if (Normalize(m.Groups[2].Value) is not { } result) continue;
            var operands = NumberInText().Matches(m.Groups[1].Value).Select(x => Normalize(x.Value)).OfType<string>().ToList();
            steps.Add(new SolutionStep(m.Groups[1].Value, operands, result));
        }
        var at = solution.LastIndexOf("####", StringComparison.Ordinal);
        return new GoldSolution(steps, at < 0 ? null : Normalize(solution[(at + 4)..]));
    }

    /// <summary>Every intermediate result, in order (repeats kept).</summary>
    public IReadOnlyList<string> Results => [.. Steps.Select(s => s.Result)];

    /// <summary>Every operand of every step (distinct).</summary>
    public IReadOnlySet<string> Operands => Steps.SelectMany(s => s.Operands).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// A number's canonical text: spaces, a leading '$' and thousands commas removed, then the shortest invariant decimal
    /// ("24.50" → "24.5", ".5" → "0.5", "-0" → "0"); null when the text is not a number.
    /// </summary>
    public static string? Normalize(string text)
    {
        var t = text.Trim().Trim('\u2581', '\u0120').TrimStart('$').Replace(",", "", StringComparison.Ordinal);
        if (t.EndsWith('.')) t = t[..^1];
        if (t.Length == 0 || !t.Any(char.IsAsciiDigit) || !t.All(c => char.IsAsciiDigit(c) || c is '.' or '-')) return null;
        if (!decimal.TryParse(t, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var d))
            return null;
        return d == 0 ? "0" : d.ToString("0.############################", CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"<<([^<>=]*)=([^<>=]*)>>")]
    private static partial Regex Annotation();

    [GeneratedRegex(@"\d[\d,]*(\.\d+)?|\.\d+")]
    private static partial Regex NumberInText();
}
