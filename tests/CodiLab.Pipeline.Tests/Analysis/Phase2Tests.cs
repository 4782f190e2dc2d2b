using System.Text.Json.Nodes;
using CodiLab.Analysis;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Features;
using CodiLab.Reports;
using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>Phase 2 formulas (docs/experiment.md#phase-2-per-head-metrics) on hand-built matrices, pinned summaries, and Compare.</summary>
public sealed class Phase2Tests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Default_specs_phase2_and_their_comparison_are_pinned_and_cached()
    {
        var log = new StringWriter();
        var env = new PipelineEnvironment(Path.Combine(_dir.Path, "artifacts"), Path.Combine(_dir.Path, "data"), log, "test");
        var specs = SpecLoader.LoadAll(SpecLoader.DefaultSpecs);
        var (folder, cached) = Comparison.Run(specs[0], specs[1], env);
        Assert.False(cached);
        Assert.True(Comparison.Run(specs[0], specs[1], env).Cached);

        foreach (var spec in specs)
        {
            var phase2 = Path.Combine(env.ExperimentRoot(spec.Name), "Phase2");
            // Each figure decodes to its panel grid, every panel drawn: top 10 (rows of 5), top 3, (two stacked rows of three:
            // layer × head maps over the top-head and type charts), top 10, four layer × head maps in two columns.
            var info = Phase1Files.ReadMetadata(Path.Combine(env.ExperimentRoot(spec.Name), "Phase1", Phase1Files.Metadata));
            var top10 = Math.Min(10, info.Layers * info.Heads);
            (int Panels, int Columns)[] grids = [(top10, 5), (Math.Min(3, info.Layers * info.Heads), 3), (0, 0), (top10, 5), (4, 2)];
            for (int f = 0; f < Phase2Figures.Files.Length; f++)
            {
                var path = Path.Combine(phase2, Phase2Figures.Files[f]);
                if (f != 2) PngAssert.PanelGrid(path, grids[f].Panels, grids[f].Columns);
                else
                    foreach (var band in Bands(path, 2)) PngAssert.PanelGrid(band, 3, 3, path);
            }
            Assert.Contains("flow is 1 for", File.ReadAllText(Path.Combine(phase2, Phase2Report.Markdown)), StringComparison.Ordinal);
            Pins.Match(File.ReadAllText(Path.Combine(phase2, Phase2Files.CanonicalSummary)), spec.Name);
        }

        var compare = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "compare.json")))!.AsObject();
        var diff = compare["params_diff"]!.AsArray().Select(p => p!["field"]!.GetValue<string>()).ToList();
        Assert.Equal(["description", "model.arch"], diff);
        Assert.Contains("| `model.arch` | llama | gpt2 |", File.ReadAllText(Path.Combine(folder, "compare.md")), StringComparison.Ordinal);
        compare.Remove("key");
        compare.Remove("specs");
        Pins.Match(CanonicalJson.Text(compare), "compare");
    }

    [Fact]
    public void Latent_head_metrics_read_back_from_their_csv_as_computed()
    {
        // Later stages (heads-figures) read the heads stage's table instead of recomputing it from the raw array.
        var (n, layers, heads, k) = (3, 2, 2, 3);
        var raw = new float[n * layers * heads * (k + 1) * (k + 3)];
        for (int i = 0; i < raw.Length; i++) raw[i] = (i * 31 % 97) / 97f;
        var computed = HeadMetrics.Latent(raw, n, layers, heads, k);
        var path = Path.Combine(_dir.Path, Phase2Files.LatentHeads);
        File.WriteAllText(path, HeadMetrics.LatentCsv(computed, layers));
        var read = Phase2Files.ReadLatentHeads(path);
        Assert.Equal(computed.Select(h => (h.Layer, h.Head)), read.Select(h => (h.Layer, h.Head)));
        for (int h = 0; h < computed.Count; h++) Assert.Equal(computed[h].Metrics, read[h].Metrics);
    }

    // A figure made of equal composed figures stacked vertically, cut back into them.
    private static IEnumerable<byte[]> Bands(string path, int count)
    {
        using var bitmap = SkiaSharp.SKBitmap.Decode(path);
        var height = bitmap.Height / count;
        for (int i = 0; i < count; i++)
        {
            using var band = new SkiaSharp.SKBitmap(bitmap.Width, height);
            bitmap.ExtractSubset(band, new SkiaSharp.SKRectI(0, i * height, bitmap.Width, (i + 1) * height));
            using var image = SkiaSharp.SKImage.FromBitmap(band);
            using var png = image.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
            yield return png.ToArray();
        }
    }
}
