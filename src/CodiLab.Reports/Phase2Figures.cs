using System.Globalization;
using CodiLab.Analysis;

namespace CodiLab.Reports;

/// <summary>What the Phase 2 figures draw.</summary>
/// <param name="Name">The experiment (in every title).</param>
/// <param name="Info">The extraction's metadata (shape).</param>
/// <param name="SeedAvg">Seed mean [L, H, 6, 6], float16-rounded.</param>
/// <param name="Seed">The seed per-head metrics.</param>
/// <param name="LatentAvg">Latent mean [L, H, K+1, K+3].</param>
/// <param name="Latent">The latent per-head metrics.</param>
public sealed record Phase2FigureInput(
    string Name, ExtractMetadata Info, float[] SeedAvg, IReadOnlyList<SeedHead> Seed, float[] LatentAvg, IReadOnlyList<LatentHead> Latent);

/// <summary>Critical-head figures for both views (seed scripts 6–7's figures, labelled).</summary>
public static class Phase2Figures
{
    /// <summary>The figure files, relative to the stage output.</summary>
    public static readonly string[] Files =
        ["figures/seed/4_critical_heads_attention.png", "figures/seed/5_top3_critical_heads.png", "figures/seed/6_metric_distributions.png",
         "figures/latent/4_top_sequential_heads.png", "figures/latent/6_metric_distributions.png"];

    private static readonly string[] Rows = ["CT0 (BOT)", "CT1 (z1)", "CT2 (z2)", "CT3 (z3)", "CT4 (z4)", "CT5 (z5)"];
    private static readonly string[] Columns = ["CT0 (z1)", "CT1 (z2)", "CT2 (z3)", "CT3 (z4)", "CT4 (z5)", "CT5 (z6)"];

    /// <summary>Renders all five figures: relative path → PNG.</summary>
    public static IReadOnlyList<(string File, byte[] Png)> Render(Phase2FigureInput input) => [.. Seed(input), .. Latent(input)];

    private static IEnumerable<(string, byte[])> Seed(Phase2FigureInput p)
    {
        var (info, avg, name) = (p.Info, p.SeedAvg, p.Name);
        var ranked = HeadMetrics.RankBy(p.Seed, h => h.Composite);
        MatrixPanel Panel(SeedHead h, string title) =>
            new(title, FigureKit.Matrix(6, 6, (i, j) => avg[((h.Layer * info.Heads + h.Head) * 6 + i) * 6 + j]), Rows, Columns);
        static string CriticalTitle(SeedHead h) => string.Create(CultureInfo.InvariantCulture,
            $"L{h.Layer}H{h.Head} - {h.FunctionalType} ({h.Composite:0.00}: F{h.FlowNorm:0.0} H{h.HubNorm:0.00} S{h.SkipNorm:0.00})");
        var top10 = ranked.Take(10).Select(h => Panel(h, CriticalTitle(h))).ToList();
        const string x = "key (seed CTj = z_{j+1})", y = "query (seed row)";
        var top10Title = $"{name} [seed convention] - top {top10.Count} critical heads by composite";
        yield return (Files[0], FigureKit.Heatmaps(top10Title, top10, 5, 1.0, x, y));
        var top3 = ranked.Take(3).Select((h, i) => Panel(h, $"#{i + 1}: L{h.Layer}H{h.Head} - {h.FunctionalType}")).ToList();
        yield return (Files[1], FigureKit.Heatmaps($"{name} [seed convention] - top 3 critical heads", top3, 3, 1.0, x, y));
        var top20 = ranked.Take(20).ToList();
        var labels = top20.Select(h => $"L{h.Layer}H{h.Head}").ToList();
        string[] layerColours = ["#3498db", "#f39c12", "#e74c3c"], typeColours = ["#e74c3c", "#2ecc71", "#3498db", "#9b59b6"];
        yield return (Files[2], FigureKit.Bars($"{name} [seed convention] - metric distributions (top {top20.Count} by composite)", [
            new BarPanel("hub score (red: Hub Aggregator)", labels, [.. top20.Select(h => h.Hub)], "hub score", null,
                [.. top20.Select(h => h.FunctionalType == "Hub Aggregator" ? "#e74c3c" : "#3498db")]),
            new BarPanel("skip score (green: Skip Connection)", labels, [.. top20.Select(h => h.Skip)], "skip score", null,
                [.. top20.Select(h => h.FunctionalType == "Skip Connection" ? "#2ecc71" : "#95a5a6")]),
            new BarPanel("layer types", Phase2Summaries.LayerTypes,
                [.. Phase2Summaries.LayerTypes.Select(t => (double)top20.Count(h => h.LayerType == t))], "heads", null, layerColours),
            new BarPanel("functional types", ["Hub", "Skip", "Forward", "Multi"],
                [.. Phase2Summaries.FunctionalTypes.Select(t => (double)top20.Count(h => h.FunctionalType == t))],
                "heads", null, typeColours),
        ]));
    }

    private static IEnumerable<(string, byte[])> Latent(Phase2FigureInput p)
    {
        var (info, avg, name, latent, k) = (p.Info, p.LatentAvg, p.Name, p.Latent, p.Info.Latents);
        var rowLabels = Conventions.LatentRows(k);
        var colLabels = Conventions.LatentColumnLabels(k);
        static string SequentialTitle(LatentHead h) => string.Create(CultureInfo.InvariantCulture,
            $"L{h.Layer}H{h.Head} seq {h.Metrics["sequential"].Mean:0.00}±{h.Metrics["sequential"].Std:0.00}");
        var bySequential = latent.OrderByDescending(h => h.Metrics["sequential"].Mean).Take(10).Select(h => new MatrixPanel(
            SequentialTitle(h),
            FigureKit.Matrix(k + 1, k + 3, (i, j) => avg[((h.Layer * info.Heads + h.Head) * (k + 1) + i) * (k + 3) + j]),
            rowLabels, colLabels)).ToList();
        var title = $"{name} [latent view] - top {bySequential.Count} heads by z_a -> z_(a-1)";
        yield return (Files[3], FigureKit.Heatmaps(title, bySequential, 5, 1.0, "key (Q = question after P0)", "query"));
        var heads = latent.Select(h => $"L{h.Layer}H{h.Head}").ToList();
        double[] Means(string metric) => [.. latent.Select(h => h.Metrics[metric].Mean)];
        yield return (Files[4], FigureKit.Bars($"{name} [latent view] - per-head metrics (mean over problems)", [
            new BarPanel("sequential z_a -> z_(a-1)", heads, Means("sequential"), "attention", null, ["#2ca02c"]),
            new BarPanel("self z_a -> z_a", heads, Means("self"), "attention", null, ["#1f77b4"]),
            new BarPanel("hub alpha of BOT", heads, Means("hub_BOT"), "attention", null, ["#9467bd"]),
            new BarPanel("receiver kurtosis", heads, Means("receiver_kurtosis"), "excess kurtosis", null, ["#ff7f0e"]),
        ]));
    }
}
