using System.Globalization;
using ScottPlot;
using SkiaSharp;

namespace CodiLab.Reports;

/// <summary>
/// One labelled matrix panel: row 0 is drawn at the top and named by <see cref="Rows"/>[0]. Cells marked
/// <see cref="Structural"/> cannot be non-zero and are hatched, never drawn as a measured zero. Columns from
/// <see cref="SplitColumn"/> on are drawn on a second colour range (the figure's <c>splitMax</c>), with its own bar.
/// </summary>
public sealed record MatrixPanel(string Title, double[,] Values, IReadOnlyList<string> Rows, IReadOnlyList<string> Columns)
{
    /// <summary>Cells that cannot be non-zero (hatched).</summary>
    public bool[,]? Structural { get; init; }

    /// <summary>First column drawn on the second colour range, or null for one range.</summary>
    public int? SplitColumn { get; init; }
}

/// <summary>One bar panel with an optional dashed reference line (named in a legend), per-bar expectations and whiskers.</summary>
public sealed record BarPanel(string Title, IReadOnlyList<string> Labels, IReadOnlyList<double> Values, string YLabel, double? Reference,
    IReadOnlyList<string>? Colors = null, bool AsLine = false)
{
    /// <summary>What the reference line is (legend text).</summary>
    public string ReferenceLabel { get; init; } = "threshold";

    /// <summary>Per-bar expected values (e.g. uniform-causal), drawn as black ticks named in the legend.</summary>
    public IReadOnlyList<double>? Expected { get; init; }

    /// <summary>Legend text of the expected ticks.</summary>
    public string ExpectedLabel { get; init; } = "uniform-causal expectation";

    /// <summary>Per-bar 95% interval (low, high), drawn as whiskers.</summary>
    public IReadOnlyList<(double Low, double High)>? Whiskers { get; init; }
}

/// <summary>
/// ScottPlot panels composed into one PNG with SkiaSharp. The font is pinned (<see cref="FontName"/>, the
/// first installed of DejaVu Sans / Liberation Sans, else ScottPlot's default, recorded in the report); every
/// heatmap of a figure shares one colour range per block, every colour bar names its quantity, tick labels are
/// thinned so they never overlap, NaN cells (not visible) are left blank and structural cells hatched.
/// </summary>
public static class FigureKit
{
    /// <summary>Panel size in pixels.</summary>
    public const int PanelWidth = 420, PanelHeight = 380;

    /// <summary>Most tick labels per axis: at ~12 px a label, more would touch in a panel this size.</summary>
    public const int MaxTicks = 12;

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

    /// <summary>The seed matrix's structural cells: row 0 (BOT), column 5 (z6) and every cell on or above the diagonal.</summary>
    public static bool[,] SeedStructural() => Structural(6, 6, (i, j) => i == 0 || j >= i);

    /// <summary>A boolean mask.</summary>
    public static bool[,] Structural(int rows, int cols, Func<int, int, bool> structural)
    {
        var m = new bool[rows, cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) m[i, j] = structural(i, j);
        return m;
    }

    /// <summary>Tick positions and labels for n items, every k-th labelled so that at most <see cref="MaxTicks"/> show.</summary>
    public static (double[] Positions, string[] Labels) Ticks(int n, Func<int, string> label, Func<int, double>? position = null)
    {
        var step = Math.Max(1, (int)Math.Ceiling(n / (double)MaxTicks));
        int[] shown = [.. Enumerable.Range(0, n).Where(i => i % step == 0)];
        return ([.. shown.Select(i => position?.Invoke(i) ?? i)], [.. shown.Select(label)]);
    }

    /// <summary>A grid of heatmaps, one colour range [0, vmax] for all of them (a second, [0, splitMax], for split columns).</summary>
    public static byte[] Heatmaps(
        string title, IReadOnlyList<MatrixPanel> panels, int columns, double vmax, string xLabel, string yLabel,
        string colorLabel = "attention (mean over problems)", double? splitMax = null, string splitLabel = "latent block") =>
        Compose(title, [.. panels.Select(p => Heatmap(p, (0, vmax), xLabel, yLabel, colorLabel, splitMax, splitLabel))], columns);

    /// <summary>
    /// Per-head metrics as layer × head heatmaps, one panel per metric, each on its own range with a named colour bar;
    /// values are printed in the cells only when there are few.
    /// </summary>
    public static byte[] LayerHead(string title, IReadOnlyList<(string Title, double[,] Values, string ColorLabel)> metrics, int columns)
    {
        var pngs = metrics.Select(m =>
        {
            var (layers, heads) = (m.Values.GetLength(0), m.Values.GetLength(1));
            var finite = m.Values.Cast<double>().Where(double.IsFinite).DefaultIfEmpty(0).ToList();
            var (lo, hi) = (Math.Min(0, finite.Min()), finite.Max());
            var panel = new MatrixPanel(m.Title, m.Values, [.. Enumerable.Range(0, layers).Select(l => $"L{l}")],
                [.. Enumerable.Range(0, heads).Select(h => $"H{h}")]);
            return Heatmap(panel, (lo, hi <= lo ? lo + 1 : hi), "head", "layer", m.ColorLabel, null, "");
        }).ToList();
        return Compose(title, pngs, columns);
    }

    /// <summary>A row of bar (or line) panels.</summary>
    public static byte[] Bars(string title, IReadOnlyList<BarPanel> panels) => Compose(title, [.. panels.Select(Bar)], panels.Count);

    private static byte[] Heatmap(MatrixPanel panel, (double Min, double Max) range, string xLabel, string yLabel, string colorLabel,
        double? splitMax, string splitLabel)
    {
        var plot = NewPlot(panel.Title);
        var (rows, cols) = (panel.Values.GetLength(0), panel.Values.GetLength(1));
        var split = panel.SplitColumn is { } sc && splitMax is not null ? sc : cols;
        double Shown(int i, int j) => panel.Structural?[i, j] == true ? double.NaN : panel.Values[i, j];
        AddBlock(plot, rows, 0, split, Shown, range, colorLabel, new ScottPlot.Colormaps.Amp());
        if (split < cols)
            AddBlock(plot, rows, split, cols - split, Shown, (0, splitMax!.Value), splitLabel, new ScottPlot.Colormaps.Tempo());
        // ScottPlot draws data row 0 at the top, at y = rows - 1.
        var (yPos, yLab) = Ticks(rows, i => panel.Rows[i], i => rows - 1 - i);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(yPos, yLab);
        var (xPos, xLab) = Ticks(cols, j => panel.Columns[j]);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(xPos, xLab);
        // Two colour bars leave ~25 px a column: labels of up to 3 characters at 10 px fit there.
        if (split < cols) plot.Axes.Bottom.TickLabelStyle.FontSize = 10;
        if (rows * cols <= 100) Annotate(plot, panel, rows, cols, split, range.Max, splitMax, split < cols ? 7 : null);
        Hatch(plot, panel, rows, cols);
        plot.Axes.SetLimits(-0.5, cols - 0.5, -0.5, rows - 0.5);
        plot.Axes.Bottom.Label.Text = xLabel;
        plot.Axes.Left.Label.Text = yLabel;
        return plot.GetImageBytes(PanelWidth, PanelHeight, ImageFormat.Png);
    }

    // One heatmap over columns [first, first + count), on its own range, with a named colour bar.
    private static void AddBlock(Plot plot, int rows, int first, int count, Func<int, int, double> value,
        (double Min, double Max) range, string label, IColormap colormap)
    {
        var block = Matrix(rows, count, (i, j) => value(i, first + j));
        var heatmap = plot.Add.Heatmap(block);
        heatmap.Colormap = colormap;
        heatmap.ManualRange = new ScottPlot.Range(range.Min, range.Max);
        heatmap.Position = new CoordinateRect(first, first + count - 1, 0, rows - 1);
        var bar = plot.Add.ColorBar(heatmap);
        bar.Label = label;
        bar.LabelStyle.FontSize = 10;
        bar.Width = 12;
        bar.Axis.TickLabelStyle.FontSize = 9;
    }

    private static void Annotate(Plot plot, MatrixPanel panel, int rows, int cols, int split, double vmax, double? splitMax, int? fontSize)
    {
        var size = fontSize ?? (rows * cols > 64 ? 8 : 11);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
            {
                var v = panel.Values[i, j];
                if (double.IsNaN(v) || panel.Structural?[i, j] == true) continue;
                var format = Math.Abs(v) < 0.01 && v != 0 ? ".000" : v < 1 ? ".00" : "0.0";
                var text = plot.Add.Text(v.ToString(format, CultureInfo.InvariantCulture), j, rows - 1 - i);
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontSize = size;
                text.LabelFontName = FontName;
                var top = j >= split ? splitMax ?? vmax : vmax;
                text.LabelFontColor = v > top * 0.6 ? Colors.White : Colors.Black;
            }
    }

    private static readonly (double X1, double Y1, double X2, double Y2)[] Diagonals = [(0, 0, 1, 1), (0, 0.5, 0.5, 1), (0.5, 0, 1, 0.5)];

    // Three grey diagonals across each structural cell.
    private static void Hatch(Plot plot, MatrixPanel panel, int rows, int cols)
    {
        if (panel.Structural is null) return;
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
            {
                if (!panel.Structural[i, j]) continue;
                var (x, y) = (j - 0.5, rows - 1 - i - 0.5);
                foreach (var (x1, y1, x2, y2) in Diagonals)
                {
                    var line = plot.Add.Line(x + x1, y + y1, x + x2, y + y2);
                    line.LineColor = Colors.Gray.WithAlpha(0.6);
                    line.LineWidth = 1;
                }
            }
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
        Overlays(plot, panel, xs);
        var (tickPos, tickLab) = Ticks(panel.Labels.Count, i => panel.Labels[i]);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(tickPos, tickLab);
        // Upright labels need ~7 px a character; past the plot's ~330 px they would touch, so they are turned.
        if (tickLab.Length * tickLab.Max(l => l.Length) * 7 > 330)
        {
            plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
            plot.Axes.Bottom.MinimumSize = 60;
        }
        plot.Axes.Left.Label.Text = panel.YLabel;
        double[] tops = [.. panel.Values, .. panel.Expected ?? [], .. (panel.Whiskers ?? []).Select(w => w.High), panel.Reference ?? 0];
        var top = tops.Where(double.IsFinite).DefaultIfEmpty(0).Max();
        plot.Axes.SetLimitsY(0, top <= 0 ? 1 : top * 1.3);
        return plot.GetImageBytes(PanelWidth, PanelHeight, ImageFormat.Png);
    }

    // Reference line, expectation ticks and whiskers, each named in the legend.
    private static void Overlays(Plot plot, BarPanel panel, double[] xs)
    {
        var legend = false;
        if (panel.Whiskers is { } w)
            for (int i = 0; i < w.Count; i++)
            {
                var whisker = plot.Add.Line(xs[i], w[i].Low, xs[i], w[i].High);
                whisker.LineColor = Colors.Black;
                whisker.LineWidth = 1.5f;
                if (i == 0) (whisker.LegendText, legend) = ("95% CI over problems", true);
            }
        if (panel.Expected is { } e)
        {
            var marks = plot.Add.Markers(xs, [.. e]);
            marks.MarkerShape = MarkerShape.HorizontalBar;
            marks.MarkerSize = 22;
            marks.MarkerLineWidth = 2.5f;
            marks.Color = Colors.Black;
            marks.LegendText = panel.ExpectedLabel;
            legend = true;
        }
        if (panel.Reference is { } r)
        {
            var reference = plot.Add.HorizontalLine(r);
            reference.LinePattern = LinePattern.Dashed;
            reference.Color = Colors.Gray;
            reference.LegendText = panel.ReferenceLabel;
            legend = true;
        }
        if (legend) plot.ShowLegend(Alignment.UpperRight);
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
    internal static byte[] Compose(string title, IReadOnlyList<byte[]> panels, int columns)
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
        // A title wider than the figure shrinks to fit rather than being cut.
        var width = font.MeasureText(title);
        if (width > columns * PanelWidth - 20) font.Size = Math.Max(9, 20 * (columns * PanelWidth - 20) / width);
        using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        canvas.DrawText(title, columns * PanelWidth / 2f, 32, SKTextAlign.Center, font, paint);
        using var snapshot = surface.Snapshot();
        using var png = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
