using System.Text;
using CodiLab.Analysis;
using static CodiLab.Reports.ReportFormat;

namespace CodiLab.Reports;

/// <summary>The Phase 2 report: critical heads with their artefacts flagged, labelled per-head metrics, figures.</summary>
public static class Phase2Report
{
    /// <summary>Report file.</summary>
    public const string Markdown = "phase2_report.md";

    /// <summary>The report as Markdown.</summary>
    /// <param name="name">The experiment.</param>
    /// <param name="s">The Phase 2 summary.</param>
    /// <param name="headsKey">Cache key of the heads stage.</param>
    /// <param name="figuresKey">Cache key of the figures stage.</param>
    public static string Render(string name, Phase2Summary s, string headsKey, string figuresKey)
    {
        var md = new StringBuilder();
        void Line(string t = "") => md.Append(t).Append('\n');
        Line($"# Phase 2 report — {name}");
        Line();
        Line($"Model {s.Model}: {s.Layers} layers × {s.Heads} heads. Cache keys: heads `{headsKey}`, figures `{figuresKey}`.");
        Line();
        SeedSection(s.Seed, Line);
        Line("## Labelled per-head metrics (latent view; mean ± std across problems)");
        Line();
        var latent = s.Latent;
        foreach (var (title, rows) in new[]
        {
            ("Sequential z_a → z_(a−1)", latent.TopSequential),
            ("Receiver heads (excess kurtosis of incoming α)", latent.TopReceivers),
            ("Self-attention z_a → z_a", latent.TopSelf),
        })
        {
            Line($"### {title}");
            Line();
            Line("| head | mean | std |");
            Line("|---|---|---|");
            foreach (var h in rows) Line($"| L{h.Layer}H{h.Head} | {F(h.Mean, "0.0000")} | {F(h.Std, "0.0000")} |");
            Line();
        }
        Line("Averages over heads: " + string.Join(", ", latent.HeadMeans.Select(kv => $"{kv.Key} {F(kv.Value, "0.0000")}")) + ".");
        Line();
        Line("![top sequential heads](figures/latent/4_top_sequential_heads.png)");
        Line();
        Line("![latent metrics](figures/latent/6_metric_distributions.png)");
        return md.ToString();
    }

    private static void SeedSection(Phase2SeedSection seed, Action<string> line)
    {
        void Line(string t = "") => line(t);
        Line("## Critical heads (seed convention, seed definitions)");
        Line();
        Line("| rank | head | type | layer type | composite | flow | hub | skip | max |");
        Line("|---|---|---|---|---|---|---|---|---|");
        var rank = 0;
        foreach (var h in seed.TopHeads)
            Line($"| {++rank} | L{h.Layer}H{h.Head} | {h.FunctionalType} | {h.LayerType} | "
                + $"{F(h.Composite, "0.000")} | {F(h.Flow, "0.000")} | "
                + $"{F(h.Hub, "0.0000")} | {F(h.Skip, "0.0000")} | {F(h.Max, "0.000")} |");
        Line();
        var art = seed.Artefacts;
        Line("**Artefacts reproduced, not findings:** flow is 1 for "
            + $"{art.FlowIsOneForHeads}/{art.TotalHeads} heads (the seed matrix's diagonal is "
            + "structurally zero, so Σ_(j<i) / Σ_(j≤i) = 1); "
            + $"flow_norm is therefore 0 and the composite cannot exceed 0.6 (max here {F(seed.Scores["composite"].Max, "0.000")}); "
            + $"heads with composite > 0.7: {seed.HeadsAbove07}. "
            + "The seed's hub score is the variance of column sums, which the causal triangle shapes; "
            + "its columns are keys z1..z6, never BOT.");
        Line();
        Line("Functional types in the top 20: " + string.Join(", ", seed.FunctionalTypes.Select(kv => $"{kv.Key} {kv.Value}"))
            + ". Layer types: " + string.Join(", ", seed.LayerTypes.Select(kv => $"{kv.Key} {kv.Value}")) + ".");
        Line();
        Line("![critical heads](figures/seed/4_critical_heads_attention.png)");
        Line();
        Line("![top 3](figures/seed/5_top3_critical_heads.png)");
        Line();
        Line("![distributions](figures/seed/6_metric_distributions.png)");
        Line();
    }
}
