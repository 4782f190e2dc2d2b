using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using CodiLab.Analysis;
using CodiLab.Specs;

namespace CodiLab.Reports;

/// <summary>
/// compare.md: spec fields that differ, model shapes and seed flags, headline metrics with deltas, top heads, every value.
/// </summary>
public static class CompareReport
{
    /// <summary>The headline metrics, as dotted paths into the canonical summaries.</summary>
    public static readonly string[] Headline =
    [
        "phase1.seed.attention_summary.hub_analysis.hub_score",
        "phase1.seed.attention_summary.hub_analysis.hub_ratio",
        "phase1.seed.attention_summary.sequential_flow.avg_sequential_attention",
        "phase1.seed.attention_summary.skip_connections.avg_skip_attention",
        "phase1.seed.attention_stats.consistency.mean_std",
        "phase1.latent.latent_summary.avg_sequential",
        "phase1.latent.latent_summary.avg_self_attention",
        "phase1.latent.latent_summary.hub.BOT.alpha",
        "phase1.latent.latent_summary.hub.P0.alpha",
        "phase1.latent.latent_summary.hub.z1.alpha",
        "phase1.latent.latent_summary.sink_rate.P0",
        "phase2.seed.scores.composite.max",
        "phase2.seed.scores.hub.mean",
        "phase2.seed.scores.skip.mean",
    ];

    private static string V(JsonNode? n) =>
        n is null ? "–"
        : CanonicalJson.NumberOf(n) is { } d ? d.ToString("0.####", CultureInfo.InvariantCulture)
        : n.ToJsonString().Trim('"');

    private static string V(double? d) => d is { } v ? V(JsonValue.Create(v)) : "–";

    /// <summary>The report as Markdown.</summary>
    public static string Render(CompareResult r, IReadOnlyList<CompareSide> sides)
    {
        var (a, b) = (r.A, r.B);
        var md = new StringBuilder();
        void Line(string t = "") => md.Append(t).Append('\n');
        Line($"# {a} vs {b}");
        Line();
        Line($"Specs: `{sides[0].Reference}` and `{sides[1].Reference}`. Comparison key `{r.Key}`.");
        Line();
        Glossary(sides, Line);
        Line("## Spec fields that differ (resolved through extends)");
        Line();
        Line($"| field | {a} | {b} |");
        Line("|---|---|---|");
        foreach (var p in r.ParamsDiff) Line($"| `{p.Field}` | {p.A} | {p.B} |");
        Line();
        Models(r, Line);
        var metrics = r.Metrics.ToDictionary(m => m.Metric);
        Line("## Key metrics side by side");
        Line();
        Line($"| metric | {a} | {b} | Δ ({b} − {a}) | Δ per problem [95% CI] |");
        Line("|---|---|---|---|---|");
        foreach (var h in Headline.Where(metrics.ContainsKey))
            Line($"| {h} | {V(metrics[h].A)} | {V(metrics[h].B)} | {V(metrics[h].Delta)} | {DeltaCell(r, h)} |");
        Line();
        Line("Δ per problem: the difference of the two sides' per-problem values (successful problems), bootstrapped over problems; "
            + "paired when both ran the same problems. The seed's consistency is a spread (no interval); Phase 2 scores are "
            + "statistics over heads of the problem mean (their intervals are the composite and rank intervals of each Phase 2 report).");
        Line();
        TopHeads(r, sides, Line);
        var figures = new[]
        {
            ("seed head mean", CompareFigures.Files[0]),
            ("latent head mean", CompareFigures.Files[1]),
            ("hub and flow", CompareFigures.Files[2]),
        };
        foreach (var (alt, file) in figures)
        {
            Line($"![{alt}]({file})");
            Line();
        }
        Line($"## Every summary value ({metrics.Count}; also in compare.json)");
        Line();
        Line($"| metric | {a} | {b} | Δ |");
        Line("|---|---|---|---|");
        foreach (var (name, m) in metrics) Line($"| {name} | {V(m.A)} | {V(m.B)} | {V(m.Delta)} |");
        return md.ToString();
    }

    private static string DeltaCell(CompareResult r, string metric) =>
        r.DeltaIntervals?.GetValueOrDefault(metric) is { Interval: { } i } d
            ? $"{ReportFormat.CI(i)} ({d.Pairing})"
            : metric.Contains("consistency", StringComparison.Ordinal) ? "– (a spread)"
            : metric.StartsWith("phase2.", StringComparison.Ordinal) ? "– (over heads; see Phase 2)" : "–";

    private static void Glossary(IReadOnlyList<CompareSide> sides, Action<string> line)
    {
        line("## Glossary");
        line("");
        line("| term | meaning |");
        line("|---|---|");
        foreach (var s in sides) line($"| P0 of {s.Name} | {Phase1Report.P0Of(s.Arch.Word())} |");
        if (sides[0].Arch != sides[1].Arch)
            line("| P0 across the two | a different token on each side: read P0 deltas as BOS against a question token |");
        line("| question | the prompt after P0 up to BOT; BOT, z1..zK as in each Phase 1 report |");
        line("| seed convention | M[s, j] = A(z_s → z_(j+1)); its \"hub position p\" is key z_(p+1) |");
        line("| Δ | B − A of the values as each summary holds them; [95% CI] is a bootstrap interval over problems |");
        line("");
    }

    private static void Models(CompareResult r, Action<string> line)
    {
        void Line(string t = "") => line(t);
        var (a, b, mc) = (r.A, r.B, r.ModelComparison);
        Line("## Models");
        Line();
        Line($"| | {a} | {b} |");
        Line("|---|---|---|");
        Line($"| shape | {mc.Models[a].ModelSize} | {mc.Models[b].ModelSize} |");
        var k = mc.KeyFindings;
        Line($"| hub position (seed; really z_{{p+1}}) | {k.HubPosition[a]} | {k.HubPosition[b]} |");
        Line($"| sequential flow (seed flag) | {ReportFormat.B(k.SequentialFlow[a])} | {ReportFormat.B(k.SequentialFlow[b])} |");
        Line($"| skip connections (seed flag) | {ReportFormat.B(k.SkipConnections[a])} | {ReportFormat.B(k.SkipConnections[b])} |");
        Line();
    }

    private static void TopHeads(CompareResult r, IReadOnlyList<CompareSide> sides, Action<string> line)
    {
        void Line(string t = "") => line(t);
        Line("## Top heads (Phase 2 composite, seed definitions)");
        Line();
        var tops = sides.Select(s => s.Phase2?.TopHeads ?? []).ToArray();
        Line($"| rank | {r.A} | composite | {r.B} | composite |");
        Line("|---|---|---|---|---|");
        for (int i = 0; i < Math.Max(tops[0].Count, tops[1].Count); i++)
        {
            string Head(IReadOnlyList<SeedHeadRow> t) => i < t.Count ? $"L{t[i].Layer}H{t[i].Head} ({t[i].FunctionalType})" : "–";
            string Comp(IReadOnlyList<SeedHeadRow> t) => i < t.Count ? V(t[i].Composite) : "–";
            Line($"| {i + 1} | {Head(tops[0])} | {Comp(tops[0])} | {Head(tops[1])} | {Comp(tops[1])} |");
        }
        Line();
    }
}
