using CodiLab.Reports;
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
}
