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
/// <param name="Evidence">Composite intervals of the critical heads (whiskers), when available.</param>
public sealed record Phase2FigureInput(
    string Name, ExtractMetadata Info, float[] SeedAvg, IReadOnlyList<SeedHead> Seed, float[] LatentAvg, IReadOnlyList<LatentHead> Latent,
    Phase2Evidence? Evidence = null);

/// <summary>Critical-head figures for both views (seed scripts 6–7's figures, labelled).</summary>
public static class Phase2Figures
{
    /// <summary>The figure files, relative to the stage output.</summary>
    public static readonly string[] Files =
        ["figures/seed/4_critical_heads_attention.png", "figures/seed/5_top3_critical_heads.png", "figures/seed/6_metric_distributions.png",
         "figures/latent/4_top_sequential_heads.png", "figures/latent/6_metric_distributions.png"];

    private static readonly string[] Rows = Conventions.SeedRowLabels;
    private static readonly string[] Columns = Conventions.SeedColumnLabels;

    /// <summary>Renders all five figures: relative path → PNG.</summary>
    public static IReadOnlyList<(string File, byte[] Png)> Render(Phase2FigureInput input) => [.. Seed(input), .. Latent(input)];

    private static IEnumerable<(string, byte[])> Seed(Phase2FigureInput p)
    {
        var (info, avg, name) = (p.Info, p.SeedAvg, p.Name);
        var ranked = HeadMetrics.RankBy(p.Seed, h => h.Composite);
        MatrixPanel Panel(SeedHead h, string title) =>
            new(title, FigureKit.Matrix(6, 6, (i, j) => avg[((h.Layer * info.Heads + h.Head) * 6 + i) * 6 + j]), Rows, Columns)
            {
                Structural = FigureKit.SeedStructural(),
            };
        static string CriticalTitle(SeedHead h) => string.Create(CultureInfo.InvariantCulture,
            $"L{h.Layer}H{h.Head} - {h.FunctionalType} ({h.Composite:0.00}: F{h.FlowNorm:0.0} H{h.HubNorm:0.00} S{h.SkipNorm:0.00})");
        var top10 = ranked.Take(10).Select(h => Panel(h, CriticalTitle(h))).ToList();
        const string x = "key (seed column j = z_{j+1})", y = "query (seed row; 0 = BOT)";
        var top10Title = $"{name} [seed convention] - top {top10.Count} critical heads by composite";
        yield return (Files[0], FigureKit.Heatmaps(top10Title, top10, 5, 1.0, x, y));
        var top3 = ranked.Take(3).Select((h, i) => Panel(h, $"#{i + 1}: L{h.Layer}H{h.Head} - {h.FunctionalType}")).ToList();
        yield return (Files[1], FigureKit.Heatmaps($"{name} [seed convention] - top 3 critical heads", top3, 3, 1.0, x, y));
        yield return (Files[2], Distributions(p, ranked));
    }

    // Per-head seed scores as layer × head maps, the top 10 composites with their intervals, and the top-N type counts.
    private static byte[] Distributions(Phase2FigureInput p, List<SeedHead> ranked)
    {
        var (info, seed) = (p.Info, p.Seed);
        double[,] Map(Func<SeedHead, double> f) => FigureKit.Matrix(info.Layers, info.Heads, (l, h) => f(seed[l * info.Heads + h]));
        var maps = FigureKit.LayerHead($"{p.Name} [seed convention] - per-head scores (layer x head)",
        [
            ("hub score (variance of column sums)", Map(h => h.Hub), "hub score"),
            ("skip score (mean z5 -> z1..z3)", Map(h => h.Skip), "skip score"),
            ("composite (seed weights)", Map(h => h.Composite), "composite"),
        ], 3);
        var top = ranked.Take(Phase2Evidence.Top).ToList();
        var intervals = (p.Evidence?.SeedTopComposite ?? []).ToDictionary(h => (h.Layer, h.Head));
        var topN = ranked.Take(20).ToList();
        string[] layerColours = ["#3498db", "#f39c12", "#e74c3c"], typeColours = ["#e74c3c", "#2ecc71", "#3498db", "#9b59b6"];
        var bars = FigureKit.Bars($"{p.Name} [seed convention] - top heads and type counts (top {topN.Count} by composite)", [
            new BarPanel($"top {top.Count} composite", [.. top.Select(h => $"L{h.Layer}H{h.Head}")], [.. top.Select(h => h.Composite)],
                "composite", 0.6, ["#4682b4"])
            {
                ReferenceLabel = "0.6 (seed's ceiling: flow_norm = 0)",
                Whiskers = intervals.Count == 0 ? null
                    : [.. top.Select(h => intervals.TryGetValue((h.Layer, h.Head), out var i)
                        ? (i.Value.Low, i.Value.High)
                        : (h.Composite, h.Composite))],
            },
            new BarPanel($"layer types (top {topN.Count})", Phase2Summaries.LayerTypes,
                [.. Phase2Summaries.LayerTypes.Select(t => (double)topN.Count(h => h.LayerType == t))], "heads", null, layerColours),
            new BarPanel($"functional types (top {topN.Count})", ["Hub", "Skip", "Forward", "Multi"],
                [.. Phase2Summaries.FunctionalTypes.Select(t => (double)topN.Count(h => h.FunctionalType == t))], "heads", null,
                typeColours),
        ]);
        return Stack(maps, bars);
    }

    // Two composed figures one above the other (same width: both are three panels wide).
    private static byte[] Stack(byte[] upper, byte[] lower)
    {
        using var a = SkiaSharp.SKBitmap.Decode(upper);
        using var b = SkiaSharp.SKBitmap.Decode(lower);
        using var surface = SkiaSharp.SKSurface.Create(new SkiaSharp.SKImageInfo(Math.Max(a.Width, b.Width), a.Height + b.Height));
        surface.Canvas.Clear(SkiaSharp.SKColors.White);
        surface.Canvas.DrawBitmap(a, 0, 0);
        surface.Canvas.DrawBitmap(b, 0, a.Height);
        using var image = surface.Snapshot();
        using var png = image.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    private static IEnumerable<(string, byte[])> Latent(Phase2FigureInput p)
    {
        var (info, avg, name, latent, k) = (p.Info, p.LatentAvg, p.Name, p.Latent, p.Info.Latents);
        var rowLabels = Conventions.LatentRows(k);
        string[] colLabels = [.. Conventions.LatentColumnLabels(k)];
        var perToken = Phase1Figures.MeanQuestionTokens(info);
        static string SequentialTitle(LatentHead h) => string.Create(CultureInfo.InvariantCulture,
            $"L{h.Layer}H{h.Head} seq {h.Metrics["sequential"].Mean:0.00} (SD {h.Metrics["sequential"].Std:0.00})");
        var bySequential = latent.OrderByDescending(h => h.Metrics["sequential"].Mean).Take(10).Select(h => new MatrixPanel(
            SequentialTitle(h),
            FigureKit.Matrix(k + 1, k + 3,
                (i, j) => avg[((h.Layer * info.Heads + h.Head) * (k + 1) + i) * (k + 3) + j] / (j == 1 ? perToken : 1)),
            rowLabels, colLabels) { SplitColumn = 3 }).ToList();
        var blockMax = bySequential
            .SelectMany(m => Enumerable.Range(0, k + 1).SelectMany(i => Enumerable.Range(3, k).Select(j => m.Values[i, j])))
            .Where(double.IsFinite).DefaultIfEmpty(0.1).Max();
        var title = $"{name} [latent view] - top {bySequential.Count} heads by z_a -> z_(a-1) (Q = question share per token)";
        yield return (Files[3], FigureKit.Heatmaps(title, bySequential, Math.Min(5, bySequential.Count), 1.0,
            "key", "query", "P0, Q (per token), BOT",
            Math.Max(0.1, Math.Ceiling(blockMax * 10) / 10), "latent block z1..zK"));
        double[,] Map(string metric) => FigureKit.Matrix(info.Layers, info.Heads,
            (l, h) => latent[l * info.Heads + h].Metrics.TryGetValue(metric, out var m) ? m.Mean : double.NaN);
        yield return (Files[4], FigureKit.LayerHead($"{name} [latent view] - per-head metrics (mean over problems, layer x head)",
        [
            ("sequential z_a -> z_(a-1)", Map("sequential"), "attention"),
            ("self z_a -> z_a", Map("self"), "attention"),
            ("hub alpha of BOT", Map("hub_BOT"), "alpha (mean attention)"),
            ("receiver kurtosis", Map("receiver_kurtosis"), "excess kurtosis"),
        ], 2));
    }
}
