using System.Text;
using CodiLab.Analysis;
using static CodiLab.Reports.ReportFormat;

namespace CodiLab.Reports;

/// <summary>
/// The Phase 2 report: a glossary, critical heads with composite and rank intervals and their artefacts flagged, the
/// seed's published Phase 2 numbers when the spec is a seed experiment, labelled per-head metrics with intervals,
/// SDs and uniform-causal expectations, figures.
/// </summary>
public static class Phase2Report
{
    /// <summary>Report file.</summary>
    public const string Markdown = "phase2_report.md";

    /// <summary>The report as Markdown.</summary>
    /// <param name="name">The experiment.</param>
    /// <param name="s">The Phase 2 summary.</param>
    /// <param name="headsKey">Cache key of the heads stage.</param>
    /// <param name="figuresKey">Cache key of the figures stage.</param>
    /// <param name="arch">The architecture's word (what P0 is).</param>
    /// <param name="seedExperiment">Whether the spec is one of the seed's experiments (adds the parity table).</param>
    public static string Render(string name, Phase2Summary s, string headsKey, string figuresKey, string arch = "llama",
        bool seedExperiment = false)
    {
        var md = new StringBuilder();
        void Line(string t = "") => md.Append(t).Append('\n');
        Line($"# Phase 2 report — {name}");
        Line();
        Line($"Model {s.Model}: {s.Layers} layers × {s.Heads} heads. Cache keys: heads `{headsKey}`, figures `{figuresKey}`.");
        if (s.Evidence?.Bootstrap is { } b)
            Line($"Intervals: {b.Method}, {b.Resamples} resamples ({b.RankResamples} for ranks), seed {b.Seed}, {b.Problems} problems.");
        Line();
        Glossary(arch, Line);
        Line("Changed from the previous version: the top-N counts name the real N (fewer heads than 20 → all of them); "
            + "`question_mass` excludes P0 (now `p0_mass`); the per-head spread is labelled SD (across problems), and every "
            + "ranked value has a 95% interval and a rank interval; uniform-causal expectations are printed beside the metrics.");
        Line();
        SeedSection(s, Line);
        if (seedExperiment) Parity(arch, s.Seed, Line);
        LatentSection(s, Line);
        return md.ToString();
    }

    private static void Glossary(string arch, Action<string> line)
    {
        line("## Glossary");
        line("");
        line("| term | meaning |");
        line("|---|---|");
        line($"| P0 | the first prompt position: {Phase1Report.P0Of(arch)} |");
        line("| question | the prompt after P0 up to BOT; `question_mass` never includes P0 (`p0_mass` is apart) |");
        line("| BOT, z1..zK | the beginning-of-thought token and the continuous thoughts |");
        line("| seed convention | the seed's 6×6 (M[s, j] = A(z_s → z_(j+1))), its definitions kept: flow, hub = variance of "
            + "column sums, skip = mean M[5, 0..2], composite = 0.4·flow_norm + 0.4·hub_norm + 0.2·skip_norm |");
        line("| latent view | labelled queries BOT, z1..zK over keys P0, question, BOT, z1..zK |");
        line("| SD | standard deviation across problems (spread, not an error) |");
        line("| [95% CI] | percentile bootstrap over problems; a rank interval re-ranks every head in each resample |");
        line("| uniform | the metric if every query spread its attention evenly over the keys it can see |");
        line("");
    }

    private static void SeedSection(Phase2Summary s, Action<string> line)
    {
        void Line(string t = "") => line(t);
        var seed = s.Seed;
        var topN = seed.FunctionalTypes.Values.Sum();
        Line("## Critical heads (seed convention, seed definitions)");
        Line();
        Line("| rank | head | type | layer type | composite [95% CI] | rank [95% CI] | flow | hub | skip | max |");
        Line("|---|---|---|---|---|---|---|---|---|---|");
        var intervals = (s.Evidence?.SeedTopComposite ?? []).ToDictionary(h => (h.Layer, h.Head));
        var rank = 0;
        foreach (var h in seed.TopHeads)
        {
            var e = intervals.GetValueOrDefault((h.Layer, h.Head));
            Line($"| {++rank} | L{h.Layer}H{h.Head} | {h.FunctionalType} | {h.LayerType} | "
                + $"{(e is null ? F(h.Composite, "0.000") : CI(e.Value, "0.000"))} | {(e is null ? "–" : Rank(e.Rank))} | "
                + $"{F(h.Flow, "0.000")} | "
                + $"{F(h.Hub, "0.0000")} | {F(h.Skip, "0.0000")} | {F(h.Max, "0.000")} |");
        }
        Line();
        if (s.Evidence?.SeedUniform is { } u)
            Line($"Under uniform causal rows (this run's prompt lengths) a head would score hub {F(u["hub"], "0.0000")}, "
                + $"skip {F(u["skip"], "0.0000")}, max {F(u["max"], "0.000")}: the hub score measures the triangle's shape "
                + "as much as any hub. Flow, hub, skip and max are the seed's point values (the composite carries the interval).");
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
        Line($"Functional types in the top {topN}: " + string.Join(", ", seed.FunctionalTypes.Select(kv => $"{kv.Key} {kv.Value}"))
            + ". Layer types: " + string.Join(", ", seed.LayerTypes.Select(kv => $"{kv.Key} {kv.Value}"))
            + $"{(topN < 20 ? $" (the model has {topN} heads, fewer than the seed's 20)" : "")}. "
            + "Counts: no interval (see the rank intervals above).");
        Line();
        Line("Scores over all heads (mean / max, point values): "
            + string.Join(", ", seed.Scores.Select(kv => $"{kv.Key} {F(kv.Value.Mean, "0.0000")} / {F(kv.Value.Max, "0.0000")}")) + ".");
        Line();
        Line("![critical heads](figures/seed/4_critical_heads_attention.png)");
        Line();
        Line("![top 3](figures/seed/5_top3_critical_heads.png)");
        Line();
        Line("![distributions](figures/seed/6_metric_distributions.png)");
        Line();
    }

    private static void Parity(string arch, Phase2SeedSection seed, Action<string> line)
    {
        var rows = SeedParity.Phase2(arch, seed.TopHeads, seed.Scores);
        if (rows.Count == 0) return;
        line("## Seed parity (Phase 2)");
        line("");
        line("| quantity | seed reported | reproduced | match at printed precision |");
        line("|---|---|---|---|");
        foreach (var r in rows)
            line($"| {r.Quantity} | {r.SeedReported} | {F(r.Reproduced)} | {(r.Match is { } m ? B(m) : "not compared")} |");
        line("");
    }

    private static void LatentSection(Phase2Summary s, Action<string> line)
    {
        void Line(string t = "") => line(t);
        var latent = s.Latent;
        var uniform = s.Evidence?.LatentUniform ?? new Dictionary<string, double>();
        Line("## Labelled per-head metrics (latent view)");
        Line();
        foreach (var (title, metric, rows) in new[]
        {
            ("Sequential z_a → z_(a−1)", "sequential", latent.TopSequential),
            ("Receiver heads (excess kurtosis of incoming α)", "receiver_kurtosis", latent.TopReceivers),
            ("Self-attention z_a → z_a", "self", latent.TopSelf),
        })
        {
            Line($"### {title} (top {rows.Count})");
            Line();
            Line($"Uniform causal rows would give {F(uniform.GetValueOrDefault(metric, double.NaN), "0.0000")}.");
            Line();
            Line("| rank | head | mean [95% CI] | SD across problems | rank [95% CI] |");
            Line("|---|---|---|---|---|");
            var intervals = (s.Evidence?.LatentTop.GetValueOrDefault(metric) ?? []).ToDictionary(h => (h.Layer, h.Head));
            var r = 0;
            foreach (var h in rows)
            {
                var e = intervals.GetValueOrDefault((h.Layer, h.Head));
                Line($"| {++r} | L{h.Layer}H{h.Head} | {(e is null ? F(h.Mean) : CI(e.Value))} | {F(h.Std)} "
                    + $"| {(e is null ? "–" : Rank(e.Rank))} |");
            }
            Line();
        }
        Line("Averages over heads (point values; uniform expectation in parentheses): "
            + string.Join(", ", latent.HeadMeans.Select(kv =>
                $"{kv.Key} {F(kv.Value)}{(uniform.TryGetValue(kv.Key, out var u) ? $" ({F(u)})" : "")}")) + ".");
        Line();
        Line("![top sequential heads](figures/latent/4_top_sequential_heads.png)");
        Line();
        Line("![latent metrics](figures/latent/6_metric_distributions.png)");
    }
}
