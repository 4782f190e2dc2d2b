using System.Globalization;
using ScottPlot;
using SkiaSharp;

namespace CodiLab.Reports;

/// <summary>One labelled matrix panel: row 0 is drawn at the top and named by <see cref="Rows"/>[0].</summary>
public sealed record MatrixPanel(string Title, double[,] Values, IReadOnlyList<string> Rows, IReadOnlyList<string> Columns);

/// <summary>One bar panel with an optional dashed reference line.</summary>
public sealed record BarPanel(string Title, IReadOnlyList<string> Labels, IReadOnlyList<double> Values, string YLabel, double? Reference,
    IReadOnlyList<string>? Colors = null, bool AsLine = false);

/// <summary>
/// ScottPlot panels composed into one PNG with SkiaSharp. The font is pinned (<see cref="FontName"/>, the
/// first installed of DejaVu Sans / Liberation Sans, else ScottPlot's default, recorded in the report); every
/// heatmap of a figure shares one colour range, every axis is labelled with positions, NaN cells (not visible)
/// are left blank.
/// </summary>
public static class FigureKit
{
    /// <summary>Panel size in pixels.</summary>
    public const int PanelWidth = 420, PanelHeight = 380;

    /// <summary>The font used for every text.</summary>
    public static string FontName { get; } = new[] { "DejaVu Sans", "Liberation Sans" }
        .FirstOrDefault(f => SKFontManager.Default.MatchFamily(f) is { } t && t.FamilyName == f) ?? Fonts.Default;

    /// <summary>A rows × cols matrix of values for a <see cref="MatrixPanel"/>.</summary>
    public static double[,] Matrix(int rows, int cols, Func<int, int, double> value)
    {
        var m = new double[rows, cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) m[i, j] = value(i, j);
        return m;
    }

    /// <summary>A grid of heatmaps, one colour range [0, vmax] for all of them.</summary>
    public static byte[] Heatmaps(
        string title, IReadOnlyList<MatrixPanel> panels, int columns, double vmax, string xLabel, string yLabel) =>
        Compose(title, [.. panels.Select(p => Heatmap(p, vmax, xLabel, yLabel))], columns);

    /// <summary>A row of bar (or line) panels.</summary>
    public static byte[] Bars(string title, IReadOnlyList<BarPanel> panels) => Compose(title, [.. panels.Select(Bar)], panels.Count);

    private static byte[] Heatmap(MatrixPanel panel, double vmax, string xLabel, string yLabel)
    {
        var plot = NewPlot(panel.Title);
        var (rows, cols) = (panel.Values.GetLength(0), panel.Values.GetLength(1));
        var heatmap = plot.Add.Heatmap(panel.Values);
        heatmap.Colormap = new ScottPlot.Colormaps.Amp();
        heatmap.ManualRange = new ScottPlot.Range(0, vmax);
        plot.Add.ColorBar(heatmap);
        // ScottPlot draws data row 0 at the top, at y = rows - 1.
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. Enumerable.Range(0, rows).Select(i => (double)(rows - 1 - i))], [.. panel.Rows]);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. Enumerable.Range(0, cols).Select(j => (double)j)], [.. panel.Columns]);
        var size = rows * cols > 64 ? 8 : 11;
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
            {
                var v = panel.Values[i, j];
                if (double.IsNaN(v)) continue;
                var text = plot.Add.Text(v.ToString("0.00", CultureInfo.InvariantCulture), j, rows - 1 - i);
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontSize = size;
                text.LabelFontName = FontName;
                text.LabelFontColor = v > vmax * 0.6 ? Colors.White : Colors.Black;
            }
        plot.Axes.Bottom.Label.Text = xLabel;
        plot.Axes.Left.Label.Text = yLabel;
        return plot.GetImageBytes(PanelWidth, PanelHeight, ImageFormat.Png);
    }

    private static byte[] Bar(BarPanel panel)
    {
        var plot = NewPlot(panel.Title);
        var xs = Enumerable.Range(0, panel.Values.Count).Select(i => (double)i).ToArray();
        if (panel.AsLine)
        {
            var line = plot.Add.Scatter(xs, [.. panel.Values]);
            line.Color = Color.FromHex(panel.Colors?[0] ?? "#2ca02c");
            line.LineWidth = 2;
            line.MarkerSize = 8;
        }
        else
        {
            var bars = plot.Add.Bars([.. panel.Values]);
            for (int i = 0; i < bars.Bars.Count; i++)
                bars.Bars[i].FillColor = Color.FromHex(panel.Colors?[Math.Min(i, panel.Colors.Count - 1)] ?? "#4682b4");
        }
        if (panel.Reference is { } r)
        {
            var reference = plot.Add.HorizontalLine(r);
            reference.LinePattern = LinePattern.Dashed;
            reference.Color = Colors.Gray;
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(xs, [.. panel.Labels]);
        plot.Axes.Left.Label.Text = panel.YLabel;
        var top = Math.Max(panel.Values.Where(v => !double.IsNaN(v)).DefaultIfEmpty(0).Max(), panel.Reference ?? 0);
        plot.Axes.SetLimitsY(0, top <= 0 ? 1 : top * 1.15);
        return plot.GetImageBytes(PanelWidth, PanelHeight, ImageFormat.Png);
    }

    private static Plot NewPlot(string title)
    {
        var plot = new Plot();
        plot.Font.Set(FontName);
        plot.Title(title);
        plot.Axes.Title.Label.FontSize = 14;
        return plot;
    }

    // Panels in a grid under a title, on a white canvas.
    private static byte[] Compose(string title, IReadOnlyList<byte[]> panels, int columns)
    {
        var rows = (panels.Count + columns - 1) / columns;
        const int header = 50;
        using var surface = SKSurface.Create(new SKImageInfo(columns * PanelWidth, header + rows * PanelHeight));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        for (int i = 0; i < panels.Count; i++)
        {
            using var image = SKImage.FromEncodedData(panels[i]);
            canvas.DrawImage(image, i % columns * PanelWidth, header + i / columns * PanelHeight);
        }
        using var typeface = SKTypeface.FromFamilyName(FontName, SKFontStyle.Bold);
        using var font = new SKFont(typeface, 20);
        using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        canvas.DrawText(title, columns * PanelWidth / 2f, 32, SKTextAlign.Center, font, paint);
        using var snapshot = surface.Snapshot();
        using var png = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
