using CodiLab.Analysis;
using static CodiLab.Reports.ReportFormat;

namespace CodiLab.Reports;

/// <summary>
/// The per-layer question-token figure: for each question kind, a query × layer heatmap of the share of the question's
/// attention on tokens of that kind divided by the share of such tokens in the prompt (1 = what uniform reading gives).
/// A kind no question holds has no such ratio and gets no panel.
/// </summary>
public static class QuestionKindFigure
{
    /// <summary>The figure's path under the figures stage output.</summary>
    public const string File = "figures/latent/4_question_kinds_by_layer.png";

    /// <summary>Renders the figure for one experiment.</summary>
    public static byte[] Render(string name, QuestionKindSummary summary)
    {
        var queries = summary.Queries;
        var layers = queries.Count == 0 ? 0 : queries[0].ByLayer.Count;
        var present = TokenKinds.Question.Where(k => summary.TokenShare.GetValueOrDefault(k.Word(), 0) > 0).ToList();
        var panels = present.Select(kind =>
        {
            var word = kind.Word();
            var chance = summary.TokenShare.GetValueOrDefault(word, double.NaN);
            var values = FigureKit.Matrix(queries.Count, layers,
                (q, l) => queries[q].ByLayer[l].Shares.GetValueOrDefault(word, double.NaN) / chance);
            return new MatrixPanel($"{word} ({F(100 * chance, "0.0")}% of question tokens)", values,
                [.. queries.Select(q => q.Query)], [.. Enumerable.Range(0, layers).Select(l => $"L{l}")]);
        }).ToList();
        var top = panels.SelectMany(p => p.Values.Cast<double>()).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        return FigureKit.Heatmaps($"{name}: which question tokens each query reads, by layer", panels, 2, Math.Max(1, top),
            "layer", "query", "share of question attention / share of tokens (1 = uniform)");
    }
}

public static partial class Phase1Report
{
    // Which kinds of question token BOT and each latent read (P0 apart), against the share of such tokens.
    private static void QuestionTokensSection(Phase1ReportInput input, Action<string> line)
    {
        if (input.QuestionKinds is not { } s) return;
        void Line(string text = "") => line(text);
        Line("## Question tokens: which kinds BOT and each latent read");
        Line();
        Line($"P0 ({P0Of(input.Run.Arch)}) is shown apart and never counted in the question. {s.Definition} Token kinds: numbers (digits), "
            + $"operators ({TokenKinds.OperatorChars}; a lone '-' may be a hyphen), the last question token (just before BOT, "
            + "whatever its text) and other tokens (words, punctuation). Over the question tokens of these "
            + $"{s.Problems} problems: " + string.Join(", ", s.TokenShare.Select(kv => $"{kv.Key} {F(100 * kv.Value, "0.0")}%")) + ".");
        Line();
        Line("| query | key | " + ScoredHeader);
        Line("|---|---|" + ScoredRule);
        foreach (var q in s.Queries)
        {
            Line($"| {q.Query} | P0 (of the row) | {ScoredCells(q.P0)}");
            Line($"| {q.Query} | question (of the row) | {ScoredCells(q.Question)}");
            foreach (var k in q.Kinds) Line($"| {q.Query} | {k.Metric} (of the question) | {ScoredCells(k)}");
        }
        Line();
        Line("For the kind shares the uniform expectation is the share of question tokens of that kind (a query that spread "
            + "its question attention evenly would give it), so \"above uniform\" on numbers means the query reads numbers more "
            + "than chance. The per-layer breakdown below is a mean over problems and heads, drawn without intervals (the "
            + "all-layer shares above carry them); `question_kinds.json` holds every layer's values.");
        Line();
        Line($"![question token kinds by layer]({QuestionKindFigure.File})");
        Line();
        if (s.StrongestKey is { } strongest) StrongestKeys(strongest, line);
    }

    // The argmax view: which kind the strongest question key of each (layer, head) cell is, and the texts most often strongest.
    private static void StrongestKeys(IReadOnlyList<TopKeyKinds> strongest, Action<string> line)
    {
        line("The same question read by argmax: the share of (layer, head) cells whose strongest question key "
            + "(`question_topk_keys.npy`, P0 left out) is of each kind, per problem, against the share of question tokens of that kind.");
        line("");
        line("| query | strongest key is | " + ScoredHeader);
        line("|---|---|" + ScoredRule);
        foreach (var q in strongest)
            foreach (var k in q.Kinds) line($"| {q.Query} | {k.Metric} | {ScoredCells(k)}");
        line("");
        line("Question tokens most often the strongest key (share of all cells over all problems; a count, no interval): "
            + string.Join("; ", strongest.Select(q => $"{q.Query}: " + string.Join(", ",
                q.Frequent.Select(t => $"`{(t.Text.Length == 0 ? "␣" : t.Text.Replace("`", "'", StringComparison.Ordinal))}` "
                    + $"({t.Kind}, {F(100 * t.Share, "0.0")}%)")))) + ".");
        line("");
    }
}
