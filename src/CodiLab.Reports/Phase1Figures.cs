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
public sealed record Phase1FigureInput(
    string Name, ExtractMetadata Info, float[] SeedAvg, SeedStats SeedStats, SeedSummary SeedSummary, float[] LatentAvg,
    LatentStats LatentStats, LatentSummary LatentSummary, double SequentialThreshold, double SkipThreshold);

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
    public static IEnumerable<string> Files => new[] { "seed", "latent" }.SelectMany(c => Names.Select(n => $"figures/{c}/{n}"));

    private static readonly string[] SeedRows = Conventions.SeedRowLabels;
    private static readonly string[] SeedColumns = Conventions.SeedColumnLabels;

    /// <summary>
    /// Five layers spread from the first to the last as the seed chose them: i·L/4 for i = 0..4, halves rounded up,
    /// capped at L − 1 (16 layers: 0, 4, 8, 12, 15; 12: 0, 3, 6, 9, 11); fewer when the model has fewer.
    /// </summary>
    public static int[] RepresentativeLayers(int layers) =>
        [.. Enumerable.Range(0, 5).Select(i => Math.Min(layers - 1, (int)Math.Round(i * layers / 4.0, MidpointRounding.AwayFromZero)))
            .Distinct()];

    /// <summary>Renders all six figures: relative path → PNG.</summary>
    public static IReadOnlyList<(string File, byte[] Png)> Render(Phase1FigureInput input) => [.. Seed(input), .. Latent(input)];

    private static string FileOf(string convention, int index) => $"figures/{convention}/{Names[index]}";

    private static IEnumerable<(string, byte[])> Seed(Phase1FigureInput p)
    {
        var (info, avg, name) = (p.Info, p.SeedAvg, p.Name);
        const int s = Conventions.SeedSize;
        double[,] Head(int l, int h) => FigureKit.Matrix(s, s, (i, j) => avg[((l * info.Heads + h) * s + i) * s + j]);
        var panels = p.SeedStats.TopHeads.Select(t => new MatrixPanel(
            $"L{t.Layer}H{t.Head} (max={ReportFormat.AsWritten(t.MaxAttention).ToString("0.00", CultureInfo.InvariantCulture)})",
            Head(t.Layer, t.Head), SeedRows, SeedColumns)).ToList();
        const string x = "key (seed column j = z_{j+1})", y = "query (seed row; 0 = BOT)";
        var title = $"{name} [seed convention] - top {panels.Count} heads by max attention";
        yield return (FileOf("seed", 0), FigureKit.Heatmaps(title, panels, Math.Min(5, panels.Count), 1.0, x, y));

        var layers = RepresentativeLayers(info.Layers).Select(l => new MatrixPanel($"layer {l} (head mean)",
            FigureKit.Matrix(s, s, (i, j) => Enumerable.Range(0, info.Heads).Average(h => avg[((l * info.Heads + h) * s + i) * s + j])),
            SeedRows, SeedColumns)).ToList();
        var byLayerTitle = $"{name} [seed convention] - attention by layer";
        yield return (FileOf("seed", 1), FigureKit.Heatmaps(byLayerTitle, layers, layers.Count, 0.3, x, y));

        var hub = p.SeedSummary.Hub.AllHubScores;
        var hubAt = p.SeedSummary.Hub.HubPosition;
        string[] zs = [.. Enumerable.Range(1, 5).Select(i => $"z{i}")];
        yield return (FileOf("seed", 2), FigureKit.Bars($"{name} [seed convention] - hub, flow, skip", [
            new BarPanel("hub: avg incoming (column sum)", SeedColumns, hub, "avg incoming attention", 1.0 / 6,
                [.. hub.Select((_, i) => i == hubAt ? "#d62728" : "#4682b4")]),
            new BarPanel("seed 'i -> i-1' (really z_i self)", zs, p.SeedSummary.Sequential.Scores, "attention", p.SequentialThreshold,
                ["#2ca02c"], AsLine: true),
            new BarPanel("seed skip 5 -> 0..2 (z5 -> z1..z3)", ["z5->z1", "z5->z2", "z5->z3"], p.SeedSummary.Skip.Scores, "attention",
                p.SkipThreshold, ["#ff7f0e"]),
        ]));
    }

    private static IEnumerable<(string, byte[])> Latent(Phase1FigureInput p)
    {
        var (info, avg, name, k) = (p.Info, p.LatentAvg, p.Name, p.Info.Latents);
        var (rows, cols) = (k + 1, k + 3);
        var rowLabels = Conventions.LatentRows(k);
        var colLabels = Conventions.LatentColumnLabels(k); // Q = P1.. summed
        double Cell(int l, int h, int i, int j) => avg[((l * info.Heads + h) * rows + i) * cols + j];
        var panels = p.LatentStats.TopHeads.Select(t => new MatrixPanel(
            $"L{t.Layer}H{t.Head} (latent max={t.MaxLatentAttention.ToString("0.00", CultureInfo.InvariantCulture)})",
            FigureKit.Matrix(rows, cols, (i, j) => Cell(t.Layer, t.Head, i, j)), rowLabels, colLabels)).ToList();
        const string x = "key (Q = question tokens after P0, summed)", y = "query";
        var title = $"{name} [latent view] - top {panels.Count} heads by latent-block max (blank = not visible)";
        yield return (FileOf("latent", 0), FigureKit.Heatmaps(title, panels, Math.Min(5, panels.Count), 1.0, x, y));

        var layers = RepresentativeLayers(info.Layers).Select(l => new MatrixPanel($"layer {l} (head mean)",
            FigureKit.Matrix(rows, cols, (i, j) => Enumerable.Range(0, info.Heads).Average(h => Cell(l, h, i, j))),
            rowLabels, colLabels)).ToList();
        var byLayerTitle = $"{name} [latent view] - attention by layer";
        yield return (FileOf("latent", 1), FigureKit.Heatmaps(byLayerTitle, layers, layers.Count, 1.0, x, y));

        var s = p.LatentSummary;
        yield return (FileOf("latent", 2), FigureKit.Bars($"{name} [latent view] - hub (visibility-normalised), flow, skip", [
            new BarPanel("hub alpha (mean over queries that see it)", [.. s.Hub.Keys], [.. s.Hub.Values.Select(h => h.Alpha)],
                "mean attention", null, ["#9467bd"]),
            new BarPanel("sequential z_a -> z_(a-1)", [.. s.Sequential.Keys], [.. s.Sequential.Values], "attention", null,
                ["#2ca02c"], AsLine: true),
            new BarPanel("skip curve: z_a -> z_(a-d)", [.. s.SkipCurve.Keys.Select(d => $"d={d}")], [.. s.SkipCurve.Values],
                "attention", null, ["#ff7f0e"]),
        ]));
    }
}
