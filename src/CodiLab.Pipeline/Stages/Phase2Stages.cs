using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using CodiLab.Analysis;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;
using CodiLab.Reports;

namespace CodiLab.Pipeline.Stages;

/// <summary>
/// Phase 2 (seed scripts 6–7): per-head metrics and critical heads on the seed convention, reproduced
/// faithfully (flow ≡ 1, composite ≤ 0.6) and flagged; labelled per-head metrics on the latent view; their figures
/// and a report.
/// </summary>
public static class Phase2Stages
{
    /// <summary>The seed's ranked-heads table.</summary>
    public const string RankedHeads = "ranked_heads.csv";

    /// <summary>The seed's findings text.</summary>
    public const string Findings = "critical_heads_findings.txt";

    /// <summary>Latent-view per-head metrics.</summary>
    public const string LatentHeads = "latent_heads.csv";

    /// <summary>Summary JSON.</summary>
    public const string Summary = "phase2_summary.json";

    /// <summary>Canonical summary (pinned by snapshot tests).</summary>
    public const string CanonicalSummary = "phase2_summary.canonical.json";

    /// <summary>Report.</summary>
    public const string Report = "phase2_report.md";

    private static readonly string[] SeedCsvFiles = ["heads_ranked_by_flow.csv", "heads_ranked_by_hub.csv", "heads_ranked_by_skip.csv", RankedHeads];

    /// <summary>Figures of the heads-figures stage.</summary>
    public static readonly string[] FigureFiles =
        ["figures/seed/4_critical_heads_attention.png", "figures/seed/5_top3_critical_heads.png", "figures/seed/6_metric_distributions.png",
         "figures/latent/4_top_sequential_heads.png", "figures/latent/6_metric_distributions.png"];

    /// <summary>Per-head metrics.</summary>
    public static Stage Heads() => new(
        Name: "heads", Phase: "Phase2", Version: 1,
        Reads: ["name"], // in the canonical summary
        Upstream: ["extract", "aggregate"],
        Outputs: [.. SeedCsvFiles, Findings, LatentHeads, Summary, CanonicalSummary],
        Externals: (_, _) => [],
        Execute: ctx =>
        {
            var info = Phase1Files.ReadMetadata(ctx.Input("extract", Phase1Files.Metadata));
            var seed = HeadMetrics.Seed(Npy.Read(ctx.Input("aggregate", Phase1Files.SeedAvg)).Values, info.Layers, info.Heads);
            foreach (var (file, text) in HeadMetrics.SeedCsv(seed)) File.WriteAllText(ctx.Output(file), text);
            File.WriteAllText(ctx.Output(Findings), HeadMetrics.Findings(info.Model, seed));
            var latent = HeadMetrics.Latent(Npy.Read(ctx.Input("extract", Phase1Files.LatentRaw)).Values, info.Problems, info.Layers, info.Heads, info.Latents);
            File.WriteAllText(ctx.Output(LatentHeads), HeadMetrics.LatentCsv(latent, info.Layers));
            var summary = SummaryJson(info, seed, latent);
            Phase1Stages.WriteJson(ctx.Output(Summary), summary);
            File.WriteAllText(ctx.Output(CanonicalSummary), CanonicalJson.Text(new JsonObject { ["experiment"] = ctx.Spec.Name, ["phase2"] = summary.DeepClone() }));
        });

    private static JsonObject HeadJson(SeedHead h) => new()
    {
        ["layer"] = h.Layer, ["head"] = h.Head, ["functional_type"] = h.FunctionalType, ["layer_type"] = h.LayerType, ["composite_score"] = h.Composite,
        ["flow_score"] = h.Flow, ["hub_score"] = h.Hub, ["hub_position"] = h.HubPosition, ["skip_score"] = h.Skip, ["max_attention"] = h.Max,
    };

    private static JsonObject SummaryJson(ExtractMetadata info, List<SeedHead> seed, List<LatentHead> latent)
    {
        var ranked = HeadMetrics.RankBy(seed, h => h.Composite);
        var top20 = ranked.Take(20).ToList();
        JsonObject Counts(IEnumerable<string> keys, IEnumerable<string> values) => new(keys.Select(k => KeyValuePair.Create(k, (JsonNode?)values.Count(v => v == k))));
        var metricNames = latent[0].Metrics.Keys.ToList();
        JsonArray TopLatent(string metric) => new([.. latent.OrderByDescending(h => h.Metrics[metric].Mean).Take(10).Select(h => (JsonNode)new JsonObject
        {
            ["layer"] = h.Layer, ["head"] = h.Head, [metric] = h.Metrics[metric].Mean, [metric + "_std"] = h.Metrics[metric].Std,
        })]);
        return new JsonObject
        {
            ["model"] = info.Model,
            ["n_layers"] = info.Layers,
            ["n_heads"] = info.Heads,
            ["seed"] = new JsonObject
            {
                ["top_heads"] = new JsonArray([.. ranked.Take(10).Select(h => (JsonNode)HeadJson(h))]),
                ["functional_type_distribution_top20"] = Counts(["Hub Aggregator", "Skip Connection", "Forward Flow", "Multi-Purpose"], top20.Select(h => h.FunctionalType)),
                ["layer_distribution_top20"] = Counts(["early", "middle", "late"], top20.Select(h => h.LayerType)),
                ["scores"] = new JsonObject
                {
                    ["flow"] = new JsonObject { ["mean"] = seed.Average(h => h.Flow), ["max"] = seed.Max(h => h.Flow) },
                    ["hub"] = new JsonObject { ["mean"] = seed.Average(h => h.Hub), ["max"] = seed.Max(h => h.Hub) },
                    ["skip"] = new JsonObject { ["mean"] = seed.Average(h => h.Skip), ["max"] = seed.Max(h => h.Skip) },
                    ["composite"] = new JsonObject { ["mean"] = seed.Average(h => h.Composite), ["max"] = seed.Max(h => h.Composite) },
                },
                ["heads_above_0_7"] = seed.Count(h => h.Composite > 0.7),
                ["artefacts"] = new JsonObject
                {
                    ["flow_is_one_for_heads"] = seed.Count(h => h.Flow == 1),
                    ["total_heads"] = seed.Count,
                    ["composite_max_is_at_most_0_6"] = seed.Max(h => h.Composite) <= 0.6 + 1e-9,
                },
            },
            ["latent"] = new JsonObject
            {
                ["head_means"] = new JsonObject(metricNames.Select(n => KeyValuePair.Create(n, (JsonNode?)latent.Average(h => h.Metrics[n].Mean)))),
                ["top_sequential"] = TopLatent("sequential"),
                ["top_receivers"] = TopLatent("receiver_kurtosis"),
                ["top_self"] = TopLatent("self"),
            },
        };
    }

    /// <summary>Critical-head figures for both views.</summary>
    public static Stage Figures() => new(
        Name: "heads-figures", Phase: "Phase2", Version: 1,
        Reads: ["name"], // in every title
        Upstream: ["extract", "aggregate", "heads"],
        Outputs: FigureFiles,
        Externals: (_, _) => [],
        Execute: ctx =>
        {
            var info = Phase1Files.ReadMetadata(ctx.Input("extract", Phase1Files.Metadata));
            var name = ctx.Spec.Name;
            var avg = Npy.Read(ctx.Input("aggregate", Phase1Files.SeedAvg)).Values;
            var seed = HeadMetrics.Seed(avg, info.Layers, info.Heads);
            var ranked = HeadMetrics.RankBy(seed, h => h.Composite);
            string[] rows = ["CT0 (BOT)", "CT1 (z1)", "CT2 (z2)", "CT3 (z3)", "CT4 (z4)", "CT5 (z5)"];
            string[] cols = ["CT0 (z1)", "CT1 (z2)", "CT2 (z3)", "CT3 (z4)", "CT4 (z5)", "CT5 (z6)"];
            MatrixPanel Panel(SeedHead h, string title) => new(title, FigureKit.Matrix(6, 6, (i, j) => avg[((h.Layer * info.Heads + h.Head) * 6 + i) * 6 + j]), rows, cols);
            var top10 = ranked.Take(10).Select(h => Panel(h, string.Create(CultureInfo.InvariantCulture,
                $"L{h.Layer}H{h.Head} - {h.FunctionalType} ({h.Composite:0.00}: F{h.FlowNorm:0.0} H{h.HubNorm:0.00} S{h.SkipNorm:0.00})"))).ToList();
            const string x = "key (seed CTj = z_{j+1})", y = "query (seed row)";
            File.WriteAllBytes(ctx.Output(FigureFiles[0]), FigureKit.Heatmaps($"{name} [seed convention] - top {top10.Count} critical heads by composite", top10, 5, 1.0, x, y));
            var top3 = ranked.Take(3).Select((h, i) => Panel(h, $"#{i + 1}: L{h.Layer}H{h.Head} - {h.FunctionalType}")).ToList();
            File.WriteAllBytes(ctx.Output(FigureFiles[1]), FigureKit.Heatmaps($"{name} [seed convention] - top 3 critical heads", top3, 3, 1.0, x, y));
            var top20 = ranked.Take(20).ToList();
            var labels = top20.Select(h => $"L{h.Layer}H{h.Head}").ToList();
            string[] layerTypes = ["early", "middle", "late"];
            string[] types = ["Hub Aggregator", "Skip Connection", "Forward Flow", "Multi-Purpose"];
            File.WriteAllBytes(ctx.Output(FigureFiles[2]), FigureKit.Bars($"{name} [seed convention] - metric distributions (top {top20.Count} by composite)", [
                new BarPanel("hub score (red: Hub Aggregator)", labels, [.. top20.Select(h => h.Hub)], "hub score", null, [.. top20.Select(h => h.FunctionalType == "Hub Aggregator" ? "#e74c3c" : "#3498db")]),
                new BarPanel("skip score (green: Skip Connection)", labels, [.. top20.Select(h => h.Skip)], "skip score", null, [.. top20.Select(h => h.FunctionalType == "Skip Connection" ? "#2ecc71" : "#95a5a6")]),
                new BarPanel("layer types", layerTypes, [.. layerTypes.Select(t => (double)top20.Count(h => h.LayerType == t))], "heads", null, ["#3498db", "#f39c12", "#e74c3c"]),
                new BarPanel("functional types", ["Hub", "Skip", "Forward", "Multi"], [.. types.Select(t => (double)top20.Count(h => h.FunctionalType == t))], "heads", null, ["#e74c3c", "#2ecc71", "#3498db", "#9b59b6"]),
            ]));

            var latentAvg = Npy.Read(ctx.Input("aggregate", Phase1Files.LatentAvg)).Values;
            var latent = HeadMetrics.Latent(Npy.Read(ctx.Input("extract", Phase1Files.LatentRaw)).Values, info.Problems, info.Layers, info.Heads, info.Latents);
            var k = info.Latents;
            var rowLabels = Conventions.LatentRows(k);
            var colLabels = Conventions.LatentColumnLabels(k);
            var bySequential = latent.OrderByDescending(h => h.Metrics["sequential"].Mean).Take(10).Select(h => new MatrixPanel(
                string.Create(CultureInfo.InvariantCulture, $"L{h.Layer}H{h.Head} seq {h.Metrics["sequential"].Mean:0.00}±{h.Metrics["sequential"].Std:0.00}"),
                FigureKit.Matrix(k + 1, k + 3, (i, j) => latentAvg[((h.Layer * info.Heads + h.Head) * (k + 1) + i) * (k + 3) + j]), rowLabels, colLabels)).ToList();
            File.WriteAllBytes(ctx.Output(FigureFiles[3]), FigureKit.Heatmaps($"{name} [latent view] - top {bySequential.Count} heads by z_a -> z_(a-1)", bySequential, 5, 1.0, "key (Q = question after P0)", "query"));
            var heads = latent.Select(h => $"L{h.Layer}H{h.Head}").ToList();
            File.WriteAllBytes(ctx.Output(FigureFiles[4]), FigureKit.Bars($"{name} [latent view] - per-head metrics (mean over problems)", [
                new BarPanel("sequential z_a -> z_(a-1)", heads, [.. latent.Select(h => h.Metrics["sequential"].Mean)], "attention", null, ["#2ca02c"]),
                new BarPanel("self z_a -> z_a", heads, [.. latent.Select(h => h.Metrics["self"].Mean)], "attention", null, ["#1f77b4"]),
                new BarPanel("hub alpha of BOT", heads, [.. latent.Select(h => h.Metrics["hub_BOT"].Mean)], "attention", null, ["#9467bd"]),
                new BarPanel("receiver kurtosis", heads, [.. latent.Select(h => h.Metrics["receiver_kurtosis"].Mean)], "excess kurtosis", null, ["#ff7f0e"]),
            ]));
        });

    /// <summary>The Phase 2 report.</summary>
    public static Stage ReportStage() => new(
        Name: "heads-report", Phase: "Phase2", Version: 1,
        Reads: ["name"],
        Upstream: ["heads", "heads-figures"],
        Outputs: [Report],
        Externals: (_, _) => [],
        Execute: ctx =>
        {
            var s = JsonNode.Parse(File.ReadAllText(ctx.Input("heads", Summary)))!;
            var seed = s["seed"]!;
            var md = new StringBuilder();
            void Line(string t = "") => md.Append(t).Append('\n');
            string F(JsonNode? n, string f = "0.000") => n is null ? "–" : n.GetValue<double>().ToString(f, CultureInfo.InvariantCulture);
            Line($"# Phase 2 report — {ctx.Spec.Name}");
            Line();
            Line($"Model {s["model"]}: {s["n_layers"]} layers × {s["n_heads"]} heads. Cache keys: heads `{Path.GetFileName(ctx.UpstreamDirectories["heads"])}`, figures `{Path.GetFileName(ctx.UpstreamDirectories["heads-figures"])}`.");
            Line();
            Line("## Critical heads (seed convention, seed definitions)");
            Line();
            Line("| rank | head | type | layer type | composite | flow | hub | skip | max |");
            Line("|---|---|---|---|---|---|---|---|---|");
            var rank = 0;
            foreach (var h in seed["top_heads"]!.AsArray())
                Line($"| {++rank} | L{h!["layer"]}H{h["head"]} | {h["functional_type"]} | {h["layer_type"]} | {F(h["composite_score"])} | {F(h["flow_score"])} | {F(h["hub_score"], "0.0000")} | {F(h["skip_score"], "0.0000")} | {F(h["max_attention"])} |");
            Line();
            var art = seed["artefacts"]!;
            Line("**Artefacts reproduced, not findings:** flow is 1 for " + $"{art["flow_is_one_for_heads"]}/{art["total_heads"]} heads (the seed matrix's diagonal is structurally zero, so Σ_(j<i) / Σ_(j≤i) = 1); "
                + $"flow_norm is therefore 0 and the composite cannot exceed 0.6 (max here {F(seed["scores"]!["composite"]!["max"])}); heads with composite > 0.7: {seed["heads_above_0_7"]}. "
                + "The seed's hub score is the variance of column sums, which the causal triangle shapes; its columns are keys z1..z6, never BOT.");
            Line();
            Line("Functional types in the top 20: " + string.Join(", ", seed["functional_type_distribution_top20"]!.AsObject().Select(kv => $"{kv.Key} {kv.Value}")) + ". Layer types: "
                + string.Join(", ", seed["layer_distribution_top20"]!.AsObject().Select(kv => $"{kv.Key} {kv.Value}")) + ".");
            Line();
            Line("![critical heads](figures/seed/4_critical_heads_attention.png)");
            Line();
            Line("![top 3](figures/seed/5_top3_critical_heads.png)");
            Line();
            Line("![distributions](figures/seed/6_metric_distributions.png)");
            Line();
            Line("## Labelled per-head metrics (latent view; mean ± std across problems)");
            Line();
            foreach (var (title, key) in new[] { ("Sequential z_a → z_(a−1)", "top_sequential"), ("Receiver heads (excess kurtosis of incoming α)", "top_receivers"), ("Self-attention z_a → z_a", "top_self") })
            {
                Line($"### {title}");
                Line();
                Line("| head | mean | std |");
                Line("|---|---|---|");
                foreach (var h in s["latent"]![key]!.AsArray())
                {
                    var metric = h!.AsObject().First(kv => kv.Key is not ("layer" or "head") && !kv.Key.EndsWith("_std", StringComparison.Ordinal));
                    Line($"| L{h["layer"]}H{h["head"]} | {F(metric.Value, "0.0000")} | {F(h[metric.Key + "_std"], "0.0000")} |");
                }
                Line();
            }
            Line("Averages over heads: " + string.Join(", ", s["latent"]!["head_means"]!.AsObject().Select(kv => $"{kv.Key} {F(kv.Value, "0.0000")}")) + ".");
            Line();
            Line("![top sequential heads](figures/latent/4_top_sequential_heads.png)");
            Line();
            Line("![latent metrics](figures/latent/6_metric_distributions.png)");
            File.WriteAllText(ctx.Output(Report), md.ToString());
        });
}
