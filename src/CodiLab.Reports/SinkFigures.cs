using CodiLab.Analysis;
using ScottPlot;

namespace CodiLab.Reports;

/// <summary>
/// The sink rate by layer: one panel for raw attention, one for value-weighted, a line per key (P0, BOT, z1), both on
/// 0–100 % so they read against each other.
/// </summary>
public static class SinkFigures
{
    // Colour, marker and size per key: a series hidden behind another (e.g. both at 0%) still shows as a ring around it.
    private static readonly (string Color, MarkerShape Shape, float Size)[] Styles =
        [("#d62728", MarkerShape.FilledCircle, 11), ("#1f77b4", MarkerShape.FilledSquare, 7), ("#2ca02c", MarkerShape.FilledTriangleUp, 5)];

    /// <summary>The figure as a PNG.</summary>
    public static byte[] Render(string name, SinkEvidence sink)
    {
        var title = $"{name} [latent view] - sink rate by layer (% of heads with alpha > "
            + $"{sink.Threshold.ToString("0.0#", System.Globalization.CultureInfo.InvariantCulture)})";
        byte[][] panels = [Panel("raw attention", sink, r => r.Raw), Panel("value-weighted attention", sink, r => r.Weighted)];
        return FigureKit.Compose(title, panels, 2);
    }

    private static byte[] Panel(string title, SinkEvidence sink, Func<LayerSinkRates, IReadOnlyList<double>> values)
    {
        var plot = FigureKit.NewPlot(title);
        var layers = sink.ByLayer.Count == 0 ? 0 : sink.ByLayer[0].Raw.Count;
        var xs = Enumerable.Range(0, layers).Select(l => (double)l).ToArray();
        for (int k = 0; k < sink.ByLayer.Count; k++)
        {
            var line = plot.Add.Scatter(xs, [.. values(sink.ByLayer[k])]);
            var (color, shape, size) = Styles[k % Styles.Length];
            line.Color = Color.FromHex(color);
            line.LineWidth = 2;
            line.MarkerShape = shape;
            line.MarkerSize = size;
            line.LegendText = sink.ByLayer[k].Key;
        }
        var (positions, labels) = FigureKit.Ticks(layers, l => l.ToString(System.Globalization.CultureInfo.InvariantCulture));
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, labels);
        plot.Axes.Bottom.Label.Text = "layer";
        plot.Axes.Left.Label.Text = "sink rate (% of the layer's heads)";
        // Below 0 and above 100 is room: a series at 0% is not cut by the axis, and the legend (one row, above the 100% line)
        // never covers a point.
        plot.Axes.SetLimits(-0.5, Math.Max(0.5, layers - 0.5), -4, 122);
        double[] percent = [0, 20, 40, 60, 80, 100];
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(percent, [.. percent.Select(p => $"{p:0}")]);
        plot.Legend.Orientation = Orientation.Horizontal;
        plot.ShowLegend(Alignment.UpperCenter);
        return plot.GetImageBytes(FigureKit.PanelWidth, FigureKit.PanelHeight, ImageFormat.Png);
    }
}
