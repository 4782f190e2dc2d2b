using System.Globalization;
using CodiLab.Analysis;

namespace CodiLab.Reports;

/// <summary>What the Phase 1 figures draw: the experiment's name, the aggregate arrays and the typed summaries.</summary>
/// <param name="Name">The experiment (in every title).</param>
/// <param name="Info">The extraction's metadata (shape).</param>
/// <param name="SeedAvg">Seed mean [L, H, 6, 6], float16-rounded.</param>
/// <param name="SeedStats">Seed aggregate statistics (top heads).</param>
/// <param name="SeedSummary">Seed hub / flow / skip.</param>
/// <param name="LatentAvg">Latent mean [L, H, K+1, K+3].</param>
/// <param name="LatentStats">Latent aggregate statistics (top heads).</param>
/// <param name="LatentSummary">Latent hub / flow / skip.</param>
/// <param name="SequentialThreshold">The spec's sequential threshold (reference line).</param>
/// <param name="SkipThreshold">The spec's skip threshold (reference line).</param>
/// <param name="Evidence">Uniform-causal expectations and intervals (expectation ticks and whiskers), when available.</param>
public sealed record Phase1FigureInput(
    string Name, ExtractMetadata Info, float[] SeedAvg, SeedStats SeedStats, SeedSummary SeedSummary, float[] LatentAvg,
    LatentStats LatentStats, LatentSummary LatentSummary, double SequentialThreshold, double SkipThreshold,
    Phase1Evidence? Evidence = null);

/// <summary>
/// Phase 1 figures for both conventions: top heads as a grid of heatmaps, the head-mean at five representative
/// layers, and the hub / flow / skip charts. Seed figures label every row and column with what it really is (row 0
/// at the top is the BOT query, column j is z_{j+1}).
/// </summary>
public static class Phase1Figures
{
    /// <summary>The figure names, per convention folder.</summary>
    public static readonly string[] Names = ["1_top_heads_attention.png", "2_attention_by_layer.png", "3_hub_analysis.png"];

    /// <summary>Every figure's path under the stage output.</summary>
    public static IEnumerable<string> Files =>
        [.. new[] { "seed", "latent" }.SelectMany(c => Names.Select(n => $"figures/{c}/{n}")), SinkSection.Figure];

    private static readonly string[] SeedRows = Conventions.SeedRowLabels;
    private static readonly string[] SeedColumns = Conventions.SeedColumnLabels;

    /// <summary>
    /// Five layers spread from the first to the last as the seed chose them: i·L/4 for i = 0..4, halves rounded up,
    /// capped at L − 1 (16 layers: 0, 4, 8, 12, 15; 12: 0, 3, 6, 9, 11); fewer when the model has fewer.
    /// </summary>
    public static int[] RepresentativeLayers(int layers) =>
        [.. Enumerable.Range(0, 5).Select(i => Math.Min(layers - 1, (int)Math.Round(i * layers / 4.0, MidpointRounding.AwayFromZero)))
            .Distinct()];

    /// <summary>Renders all six figures, and the sink rate by layer when the evidence has it: relative path → PNG.</summary>
    public static IReadOnlyList<(string File, byte[] Png)> Render(Phase1FigureInput input) =>
        [.. Seed(input), .. Latent(input), .. SinkFigure(input)];

    private static IEnumerable<(string, byte[])> SinkFigure(Phase1FigureInput input)
    {
        if (input.Evidence?.Sink is { } sink) yield return (SinkSection.Figure, SinkFigures.Render(input.Name, sink));
    }

    private static string FileOf(string convention, int index) => $"figures/{convention}/{Names[index]}";

    private static IEnumerable<(string, byte[])> Seed(Phase1FigureInput p)
    {
        var (info, avg, name) = (p.Info, p.SeedAvg, p.Name);
        const int s = Conventions.SeedSize;
        double[,] Head(int l, int h) => FigureKit.Matrix(s, s, (i, j) => avg[((l * info.Heads + h) * s + i) * s + j]);
        var structural = FigureKit.SeedStructural();
        var panels = p.SeedStats.TopHeads.Select(t => new MatrixPanel(
            $"L{t.Layer}H{t.Head} (max={ReportFormat.AsWritten(t.MaxAttention).ToString("0.00", CultureInfo.InvariantCulture)})",
            Head(t.Layer, t.Head), SeedRows, SeedColumns) { Structural = structural }).ToList();
        const string x = "key (seed column j = z_{j+1})", y = "query (seed row; 0 = BOT)";
        var title = $"{name} [seed convention] - top {panels.Count} heads by max attention (hatched = structural)";
        yield return (FileOf("seed", 0), FigureKit.Heatmaps(title, panels, Math.Min(5, panels.Count), 1.0, x, y));

        var layers = RepresentativeLayers(info.Layers).Select(l => new MatrixPanel($"layer {l} (head mean)",
            FigureKit.Matrix(s, s, (i, j) => Enumerable.Range(0, info.Heads).Average(h => avg[((l * info.Heads + h) * s + i) * s + j])),
            SeedRows, SeedColumns) { Structural = structural }).ToList();
        var byLayerTitle = $"{name} [seed convention] - attention by layer";
        yield return (FileOf("seed", 1), FigureKit.Heatmaps(byLayerTitle, layers, layers.Count, 0.3, x, y));

        var hub = p.SeedSummary.Hub.AllHubScores;
        var hubAt = p.SeedSummary.Hub.HubPosition;
        string[] zs = [.. Enumerable.Range(1, 5).Select(i => $"z{i}")];
        var ev = p.Evidence?.Seed;
        yield return (FileOf("seed", 2), FigureKit.Bars($"{name} [seed convention] - hub, flow, skip", [
            new BarPanel("hub: avg incoming (column sum)", SeedColumns, hub, "avg incoming attention", 1.0 / 6,
                [.. hub.Select((_, i) => i == hubAt ? "#d62728" : "#4682b4")])
            {
                ReferenceLabel = "1/6 (the seed's baseline)", Expected = Uniform(ev?.Hub), Whiskers = Whiskers(ev?.Hub),
            },
            new BarPanel("seed 'i -> i-1' (really z_i self)", zs, p.SeedSummary.Sequential.Scores, "attention", p.SequentialThreshold,
                ["#2ca02c"], AsLine: true)
            {
                ReferenceLabel = "seed threshold", Expected = Uniform(ev?.Sequential), Whiskers = Whiskers(ev?.Sequential),
            },
            new BarPanel("seed skip 5 -> 0..2 (z5 -> z1..z3)", ["z5->z1", "z5->z2", "z5->z3"], p.SeedSummary.Skip.Scores, "attention",
                p.SkipThreshold, ["#ff7f0e"])
            {
                ReferenceLabel = "seed threshold", Expected = Uniform(ev?.Skip), Whiskers = Whiskers(ev?.Skip),
            },
        ]));
    }

    private static double[]? Uniform(IReadOnlyList<Scored>? scores) => scores?.Select(x => x.Uniform).ToArray();

    private static (double, double)[]? Whiskers(IReadOnlyList<Scored>? scores) =>
        scores?.Select(x => (x.Measured.Low, x.Measured.High)).ToArray();

    /// <summary>Mean question length (tokens after P0, before BOT) over the successful problems: the per-token divisor.</summary>
    public static double MeanQuestionTokens(ExtractMetadata info) =>
        info.PromptTokens.Where(t => t > 2).Select(t => t - 2.0).DefaultIfEmpty(1).Average();

    private static IEnumerable<(string, byte[])> Latent(Phase1FigureInput p)
    {
        var (info, avg, name, k) = (p.Info, p.LatentAvg, p.Name, p.Info.Latents);
        var (rows, cols) = (k + 1, k + 3);
        var rowLabels = Conventions.LatentRows(k);
        string[] colLabels = [.. Conventions.LatentColumnLabels(k)];
        var perToken = MeanQuestionTokens(info);
        // The question column is a sum over tens of tokens: shown as its mean per token so it shares a scale with single keys.
        double Cell(int l, int h, int i, int j) => avg[((l * info.Heads + h) * rows + i) * cols + j] / (j == 1 ? perToken : 1);
        MatrixPanel Panel(string title, Func<int, int, double> value) =>
            new(title, FigureKit.Matrix(rows, cols, value), rowLabels, colLabels) { SplitColumn = 3 };
        var panels = p.LatentStats.TopHeads.Select(t => Panel(
            $"L{t.Layer}H{t.Head} (latent max={t.MaxLatentAttention.ToString("0.00", CultureInfo.InvariantCulture)})",
            (i, j) => Cell(t.Layer, t.Head, i, j))).ToList();
        const string x = "key", y = "query";
        var title = $"{name} [latent view] - top {panels.Count} heads by latent-block max "
            + "(Q = question share per token; blank = not visible)";
        yield return (FileOf("latent", 0), FigureKit.Heatmaps(title, panels, Math.Min(5, panels.Count), 1.0, x, y,
            "P0, Q (per token), BOT", LatentBlockMax(panels), "latent block z1..zK"));

        var layers = RepresentativeLayers(info.Layers).Select(l => Panel($"layer {l} (head mean)",
            (i, j) => Enumerable.Range(0, info.Heads).Average(h => Cell(l, h, i, j)))).ToList();
        var byLayerTitle = $"{name} [latent view] - attention by layer (Q = question share per token)";
        yield return (FileOf("latent", 1), FigureKit.Heatmaps(byLayerTitle, layers, layers.Count, 1.0, x, y,
            "P0, Q (per token), BOT", LatentBlockMax(layers), "latent block z1..zK"));

        var s = p.LatentSummary;
        var ev = p.Evidence?.Latent;
        var alphas = ev?.Alpha.ToDictionary(a => a.Metric);
        Scored[]? AlphaOrder() => alphas is null ? null : [.. s.Hub.Keys.Select(key => alphas[key])];
        yield return (FileOf("latent", 2), FigureKit.Bars($"{name} [latent view] - hub (visibility-normalised), flow, skip", [
            new BarPanel("hub alpha (mean over queries that see it)", [.. s.Hub.Keys], [.. s.Hub.Values.Select(h => h.Alpha)],
                "mean attention", null, ["#9467bd"]) { Expected = Uniform(AlphaOrder()), Whiskers = Whiskers(AlphaOrder()) },
            new BarPanel("sequential z_a -> z_(a-1)", [.. s.Sequential.Keys], [.. s.Sequential.Values], "attention", null,
                ["#2ca02c"], AsLine: true) { Expected = Uniform(ev?.Sequential), Whiskers = Whiskers(ev?.Sequential) },
            new BarPanel("skip curve: z_a -> z_(a-d)", [.. s.SkipCurve.Keys.Select(d => $"d={d}")], [.. s.SkipCurve.Values],
                "attention", null, ["#ff7f0e"]) { Expected = Uniform(ev?.Skip), Whiskers = Whiskers(ev?.Skip) },
        ]));
    }

    // The latent block's own colour range: the largest z-key cell of the figure, rounded up to a tenth.
    private static double LatentBlockMax(IEnumerable<MatrixPanel> panels)
    {
        var max = panels.SelectMany(p => Enumerable.Range(0, p.Values.GetLength(0))
            .SelectMany(i => Enumerable.Range(3, p.Values.GetLength(1) - 3).Select(j => p.Values[i, j]))).Where(double.IsFinite)
            .DefaultIfEmpty(0.1).Max();
        return Math.Max(0.1, Math.Ceiling(max * 10) / 10);
    }
}
