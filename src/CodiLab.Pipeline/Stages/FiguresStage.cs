using System.Globalization;
using System.Text.Json.Nodes;
using CodiLab.Pipeline.Analysis;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Figures;

namespace CodiLab.Pipeline.Stages;

/// <summary>
/// Phase 1 figures (SEED.md §8), for both conventions: top heads as a grid of heatmaps, the head-mean at five
/// representative layers, and the hub / flow / skip charts. Seed figures label every row and column with what it
/// really is (row 0 at the top is the BOT query, column j is z_{j+1}).
/// </summary>
public static class FiguresStage
{
    /// <summary>The figure names, per convention folder.</summary>
    public static readonly string[] Names = ["1_top_heads_attention.png", "2_attention_by_layer.png", "3_hub_analysis.png"];

    /// <summary>The stage.</summary>
    public static Stage Definition() => new(
        Name: "figures", Phase: "Phase1", Version: 1,
        Reads: ["name", "analysis.top_heads"], // name: in every title
        Upstream: ["extract", "aggregate", "analyze"],
        Outputs: [.. new[] { "seed", "latent" }.SelectMany(c => Names.Select(n => $"figures/{c}/{n}"))],
        Externals: (_, _) => [],
        Execute: Run);

    private static readonly string[] SeedRows = Conventions.SeedRowLabels;
    private static readonly string[] SeedColumns = Conventions.SeedColumnLabels;

    /// <summary>Five layers spread from the first to the last (fewer when the model has fewer).</summary>
    public static int[] RepresentativeLayers(int layers) => [.. Enumerable.Range(0, 5).Select(i => (int)Math.Round(i * (layers - 1) / 4.0)).Distinct()];

    private static void Run(StageContext ctx)
    {
        var info = ExtractInfo.Read(ctx.Input("extract", ExtractStage.Metadata));
        var name = ctx.Spec.Name;
        SeedFigures(ctx, info, name);
        LatentFigures(ctx, info, name);
    }

    private static void SeedFigures(StageContext ctx, ExtractInfo info, string name)
    {
        var avg = Npy.Read(ctx.Input("aggregate", Phase1Stages.SeedAvg)).Values;
        var stats = JsonNode.Parse(File.ReadAllText(ctx.Input("aggregate", Phase1Stages.SeedStats)))!.AsObject();
        var top = stats.First(kv => kv.Key.StartsWith("top_", StringComparison.Ordinal)).Value!.AsArray();
        const int s = Conventions.SeedSize;
        double[,] Head(int l, int h) => FigureKit.Matrix(s, s, (i, j) => avg[((l * info.Heads + h) * s + i) * s + j]);
        var panels = top.Select(t => new MatrixPanel(
            $"L{t!["layer"]}H{t["head"]} (max={t["max_attention"]!.GetValue<double>().ToString("0.00", CultureInfo.InvariantCulture)})",
            Head(t["layer"]!.GetValue<int>(), t["head"]!.GetValue<int>()), SeedRows, SeedColumns)).ToList();
        const string x = "key (seed column j = z_{j+1})", y = "query (seed row; 0 = BOT)";
        Save(ctx, "seed", 0, FigureKit.Heatmaps($"{name} [seed convention] - top {panels.Count} heads by max attention", panels, Math.Min(5, panels.Count), 1.0, x, y));

        var layers = RepresentativeLayers(info.Layers).Select(l => new MatrixPanel($"layer {l} (head mean)",
            FigureKit.Matrix(s, s, (i, j) => Enumerable.Range(0, info.Heads).Average(h => avg[((l * info.Heads + h) * s + i) * s + j])), SeedRows, SeedColumns)).ToList();
        Save(ctx, "seed", 1, FigureKit.Heatmaps($"{name} [seed convention] - attention by layer", layers, layers.Count, 0.3, x, y));

        var summary = JsonNode.Parse(File.ReadAllText(ctx.Input("analyze", Phase1Stages.SeedSummary)))!;
        var hub = Doubles(summary["hub_analysis"]!["all_hub_scores"]!);
        var hubAt = summary["hub_analysis"]!["hub_position"]!.GetValue<int>();
        Save(ctx, "seed", 2, FigureKit.Bars($"{name} [seed convention] - hub, flow, skip", [
            new BarPanel("hub: avg incoming (column sum)", SeedColumns, hub, "avg incoming attention", 1.0 / 6, [.. hub.Select((_, i) => i == hubAt ? "#d62728" : "#4682b4")]),
            new BarPanel("seed 'i -> i-1' (really z_i self)", [.. Enumerable.Range(1, 5).Select(i => $"z{i}")], Doubles(summary["sequential_flow"]!["sequential_scores"]!), "attention", 0.3, ["#2ca02c"], AsLine: true),
            new BarPanel("seed skip 5 -> 0..2 (z5 -> z1..z3)", ["z5->z1", "z5->z2", "z5->z3"], Doubles(summary["skip_connections"]!["skip_scores"]!), "attention", 0.1, ["#ff7f0e"]),
        ]));
    }

    private static void LatentFigures(StageContext ctx, ExtractInfo info, string name)
    {
        var avg = Npy.Read(ctx.Input("aggregate", Phase1Stages.LatentAvg)).Values;
        var stats = JsonNode.Parse(File.ReadAllText(ctx.Input("aggregate", Phase1Stages.LatentStats)))!;
        var k = info.Latents;
        var (rows, cols) = (k + 1, k + 3);
        var rowLabels = Conventions.LatentRows(k);
        var colLabels = Conventions.LatentColumnLabels(k); // Q = P1.. summed
        double Cell(int l, int h, int i, int j) => avg[((l * info.Heads + h) * rows + i) * cols + j];
        var panels = stats["top_heads"]!.AsArray().Select(t => new MatrixPanel(
            $"L{t!["layer"]}H{t["head"]} (latent max={t["max_latent_attention"]!.GetValue<double>().ToString("0.00", CultureInfo.InvariantCulture)})",
            FigureKit.Matrix(rows, cols, (i, j) => Cell(t["layer"]!.GetValue<int>(), t["head"]!.GetValue<int>(), i, j)), rowLabels, colLabels)).ToList();
        const string x = "key (Q = question tokens after P0, summed)", y = "query";
        Save(ctx, "latent", 0, FigureKit.Heatmaps($"{name} [latent view] - top {panels.Count} heads by latent-block max (blank = not visible)", panels, Math.Min(5, panels.Count), 1.0, x, y));

        var layers = RepresentativeLayers(info.Layers).Select(l => new MatrixPanel($"layer {l} (head mean)",
            FigureKit.Matrix(rows, cols, (i, j) => Enumerable.Range(0, info.Heads).Average(h => Cell(l, h, i, j))), rowLabels, colLabels)).ToList();
        Save(ctx, "latent", 1, FigureKit.Heatmaps($"{name} [latent view] - attention by layer", layers, layers.Count, 1.0, x, y));

        var summary = JsonNode.Parse(File.ReadAllText(ctx.Input("analyze", Phase1Stages.LatentSummary)))!;
        var hub = summary["hub"]!.AsObject();
        var sequential = summary["sequential"]!.AsObject();
        var skip = summary["skip_curve"]!.AsObject();
        Save(ctx, "latent", 2, FigureKit.Bars($"{name} [latent view] - hub (visibility-normalised), flow, skip", [
            new BarPanel("hub alpha (mean over queries that see it)", [.. hub.Select(kv => kv.Key)], [.. hub.Select(kv => kv.Value!["alpha"]!.GetValue<double>())], "mean attention", null, ["#9467bd"]),
            new BarPanel("sequential z_a -> z_(a-1)", [.. sequential.Select(kv => kv.Key)], [.. sequential.Select(kv => kv.Value!.GetValue<double>())], "attention", null, ["#2ca02c"], AsLine: true),
            new BarPanel("skip curve: z_a -> z_(a-d)", [.. skip.Select(kv => $"d={kv.Key}")], [.. skip.Select(kv => kv.Value!.GetValue<double>())], "attention", null, ["#ff7f0e"]),
        ]));
    }

    private static double[] Doubles(JsonNode array) => [.. array.AsArray().Select(v => v!.GetValue<double>())];

    private static void Save(StageContext ctx, string convention, int index, byte[] png) =>
        File.WriteAllBytes(ctx.Output($"figures/{convention}/{Names[index]}"), png);
}
