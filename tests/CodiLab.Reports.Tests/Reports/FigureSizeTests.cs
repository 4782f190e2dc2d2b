using System.Text.Json.Nodes;
using CodiLab.Analysis;
using CodiLab.Reports;
using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Reports;

/// <summary>
/// Every Phase 1 and Phase 2 figure drawn at the real model sizes (2 × 4 as the tiny defaults, 12 × 12 as GPT-2,
/// 16 × 32 as LLaMA-1B) from a synthetic run through the real analysis. Set CODILAB_FIGURE_DUMP to a folder to keep
/// the PNGs for a look by eye.
/// </summary>
public sealed class FigureSizeTests
{
    [Theory]
    [InlineData(2, 4)]
    [InlineData(12, 12)]
    [InlineData(16, 32)]
    public void Figures_render_at_real_sizes(int layers, int heads)
    {
        var (figures, report, figures2, summary2) = new SyntheticRun(layers, heads).Build();
        var phase1 = Phase1Figures.Render(figures);
        var phase2 = Phase2Figures.Render(figures2);
        var top = Math.Min(20, layers * heads);
        var shown = Phase1Figures.RepresentativeLayers(layers).Length;
        PngAssert.PanelGrid(phase1[0].Png, top, Math.Min(5, top), phase1[0].File);
        PngAssert.PanelGrid(phase1[1].Png, shown, shown, phase1[1].File);
        PngAssert.PanelGrid(phase2[4].Png, 4, 2, phase2[4].File); // four layer × head maps, whatever the head count
        PngAssert.PanelGrid(phase1.Single(f => f.File == SinkSection.Figure).Png, 2, 2, SinkSection.Figure); // raw | value-weighted
        Assert.Contains("| rank | head | mean [95% CI] | SD across problems | rank [95% CI] |",
            Phase2Report.Render("synthetic", summary2, "k1", "k2"), StringComparison.Ordinal);
        Assert.Contains("## The seed's claims against this run", Phase1Report.Render(report), StringComparison.Ordinal);
        if (Environment.GetEnvironmentVariable("CODILAB_FIGURE_DUMP") is { Length: > 0 } dump)
        {
            foreach (var (file, png) in phase1.Concat(phase2))
            {
                var path = Path.Combine(dump, $"{layers}x{heads}", file);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllBytes(path, png);
            }
            File.WriteAllText(Path.Combine(dump, $"{layers}x{heads}", "report.md"), Phase1Report.Render(report));
            File.WriteAllText(Path.Combine(dump, $"{layers}x{heads}", "phase2_report.md"), Phase2Report.Render("synthetic", summary2, "k1", "k2"));
        }
    }

    [Fact]
    public void Compare_pairs_deltas_over_the_same_problems_and_draws_a_skip_panel()
    {
        CompareSide Side(string name, Arch arch, int layers, int heads, int seed)
        {
            var run = new SyntheticRun(layers, heads, seed: seed);
            var (figures, report, _, _) = run.Build();
            var leaves = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal);
            Comparisons.Flatten("phase1.seed", System.Text.Json.JsonSerializer.SerializeToNode(new { attention_summary = figures.SeedSummary }),
                leaves);
            return new CompareSide(name, $"{name}.yaml", arch, [], run.Info(), leaves, figures.SeedSummary, null, figures.SeedAvg,
                figures.LatentAvg, report.Evidence, figures.LatentSummary);
        }
        CompareSide[] sides = [Side("gpt2-like", Arch.Gpt2, 12, 12, 1), Side("llama-like", Arch.Llama, 16, 32, 2)];
        var result = Comparisons.Build(sides[0], sides[1], "key");
        var md = CompareReport.Render(result, sides);
        const string hub = "phase1.seed.attention_summary.hub_analysis.hub_score";
        Assert.Equal("paired (same problems)", result.DeltaIntervals![hub].Pairing);
        Assert.Contains("(paired (same problems)) |", md, StringComparison.Ordinal);
        Assert.Contains("| P0 across the two | a different token on each side", md, StringComparison.Ordinal);
        var figures = CompareFigures.Render(sides);
        Assert.Equal(CompareFigures.Files, figures.Select(f => f.File));
        if (Environment.GetEnvironmentVariable("CODILAB_FIGURE_DUMP") is { Length: > 0 } dump)
        {
            foreach (var (file, png) in figures)
            {
                var path = Path.Combine(dump, "compare", file);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllBytes(path, png);
            }
            File.WriteAllText(Path.Combine(dump, "compare", "compare.md"), md);
        }
    }
}
