using CodiLab.Reports;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Reports;

/// <summary>
/// The Phase 1 figures from hand-made typed artifacts, decoded: each PNG is a grid of
/// <see cref="FigureKit.PanelWidth"/> × <see cref="FigureKit.PanelHeight"/> panels under a title band, every panel
/// drawn, every unused grid slot left white.
/// </summary>
public sealed class Phase1FigureTests
{
    [Fact]
    public void Representative_layers_are_five_spread_from_first_to_last()
    {
        // The seed's choice (issue 15): i·L/4, halves rounded up, capped at L − 1; no banker's rounding (which gave 11 and 8).
        Assert.Equal([0, 4, 8, 12, 15], Phase1Figures.RepresentativeLayers(16));
        Assert.Equal([0, 3, 6, 9, 11], Phase1Figures.RepresentativeLayers(12));
        Assert.Equal([0, 2, 4, 6, 7], Phase1Figures.RepresentativeLayers(8));
        Assert.Equal([0, 1, 2, 3], Phase1Figures.RepresentativeLayers(4));  // fewer than five when the model has fewer
        Assert.Equal([0, 1], Phase1Figures.RepresentativeLayers(2));
        Assert.Equal([0], Phase1Figures.RepresentativeLayers(1));
    }

    [Fact]
    public void Every_figure_is_a_drawn_panel_grid()
    {
        var figures = Phase1Figures.Render(Phase1Inputs.Figures());
        Assert.Equal(Phase1Figures.Files, figures.Select(f => f.File));

        var layers = Phase1Figures.RepresentativeLayers(Phase1Inputs.Layers).Length; // 4
        // (panels, columns): top heads in rows of at most 5, one panel per representative layer, three charts.
        var grid = new Dictionary<string, (int Panels, int Columns)>
        {
            ["figures/seed/1_top_heads_attention.png"] = (Phase1Inputs.SeedTop.Length, 5), // 7 heads: 5 + 2, three slots empty
            ["figures/seed/2_attention_by_layer.png"] = (layers, layers),
            ["figures/seed/3_hub_analysis.png"] = (3, 3),
            ["figures/latent/1_top_heads_attention.png"] = (Phase1Inputs.LatentTop.Length, 3),
            ["figures/latent/2_attention_by_layer.png"] = (layers, layers),
            ["figures/latent/3_hub_analysis.png"] = (3, 3),
            ["figures/latent/7_sink_rate_by_layer.png"] = (2, 2), // raw | value-weighted
        };
        foreach (var (file, png) in figures) PngAssert.PanelGrid(png, grid[file].Panels, grid[file].Columns, file);
    }

    [Fact]
    public void Figures_draw_the_input_they_are_given()
    {
        // Same shape, other numbers: the heatmaps change, so the figures are drawn from the arrays, not a template.
        var input = Phase1Inputs.Figures();
        var before = Phase1Figures.Render(input);
        var after = Phase1Figures.Render(input with { SeedAvg = [.. input.SeedAvg.Select(v => v / 2)] });
        Assert.NotEqual(before[0].Png, after[0].Png);
        Assert.NotEqual(before[1].Png, after[1].Png);
        Assert.Equal(before[3].Png, after[3].Png); // the latent view does not read the seed array
    }
}
