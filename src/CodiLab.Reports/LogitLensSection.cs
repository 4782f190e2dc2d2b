using CodiLab.Analysis;
using static CodiLab.Reports.ReportFormat;

namespace CodiLab.Reports;

public static partial class Phase1Report
{
    /// <summary>Problems shown in the report's per-problem logit-lens table (the file holds them all).</summary>
    public const int LensTableRows = 20;

    // The logit lens decoded at BOT and z1..zK and its agreement with the gold solution's intermediate results.
    private static void LogitLensSection(Phase1ReportInput input, Action<string> line)
    {
        if (input.LogitLens is not { } s) return;
        void Line(string text = "") => line(text);
        Line("## Logit lens against the gold solution's intermediate results");
        Line();
        Line($"The top-{s.K} tokens of the language-model head read at BOT and at each latent, decoded, over {s.Problems} successful "
            + $"problems ({s.ProblemsWithAnnotations} with `<<a*b=c>>` annotations). Match rule: {s.Matching}. "
            + $"Chance: {s.Chance}. A target a problem lacks (no annotations, fewer than k steps) leaves the problem out of that "
            + "row (n). The chance rate is a mean over many pairs and carries no interval.");
        Line();
        Line($"| query | target | n | top-1 [95% CI] | top-1 chance | top-{s.K} [95% CI] | top-{s.K} chance |");
        Line("|---|---|---|---|---|---|---|");
        foreach (var p in s.Positions)
        {
            Line($"| {p.Query} | top-1 is a number | {s.Problems} | {CI(p.Top1IsNumber, "0.00")} | – | – | – |");
            foreach (var m in p.Matches)
                Line($"| {p.Query} | {m.Target} | {m.Problems} | {CI(m.Top1, "0.00")} | {F(m.Top1Chance, "0.00")} "
                    + $"| {CI(m.TopK, "0.00")} | {F(m.TopKChance, "0.00")} |");
        }
        Line();
        if (input.LensRecords is { } records) LensTable(records, line);
    }

    private static void LensTable(LensRecords records, Action<string> line)
    {
        var shown = records.Problems.Where(p => p.Success).Take(LensTableRows).ToList();
        line($"Decoded top-{records.K} per query for the first {shown.Count} successful problems (best first, separated by ·; "
            + "**bold** = equals one of the problem's intermediate results or its final answer); `logit_lens_topk.json` holds every problem.");
        line("");
        line("| problem | gold results → final | " + string.Join(" | ", records.Queries) + " |");
        line("|---|---|" + string.Concat(records.Queries.Select(_ => "---|")));
        foreach (var p in shown)
        {
            var gold = GoldSolution.Parse(p.Solution);
            var values = gold.Results.Append(gold.Final).OfType<string>().ToHashSet(StringComparer.Ordinal);
            var cells = p.Texts.Select(top => string.Join(" · ", top.Select(t => Token(t, values))));
            line($"| {p.Gsm8kId} | {string.Join(", ", gold.Results)} → {gold.Final ?? "–"} | {string.Join(" | ", cells)} |");
        }
        line("");
    }

    // A decoded token as a table cell: trimmed, Markdown-escaped, an empty one as ∅, a hit in bold.
    private static string Token(string text, IReadOnlySet<string> values)
    {
        var t = text.Trim();
        var shown = t.Length == 0 ? "∅" : t.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("|", "\\|", StringComparison.Ordinal)
            .Replace("*", "\\*", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal)
            .Replace("<", "&lt;", StringComparison.Ordinal).Replace("`", "\\`", StringComparison.Ordinal)
            .Replace("\n", " ", StringComparison.Ordinal);
        return GoldSolution.Normalize(t) is { } n && values.Contains(n) ? $"**{shown}**" : shown;
    }
}
