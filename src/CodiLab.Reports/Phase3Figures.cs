using System.Globalization;
using CodiLab.Analysis;
using ScottPlot;

namespace CodiLab.Reports;

/// <summary>
/// Phase 3's figures, one plot each: Δ per condition with 95% whiskers against the measured baseline (the zero line); the
/// layer × head ablation-effect heatmap (head scan); the layer × latent-position patching heatmap; the top-k dose–response.
/// Every Δ is on the summary's <c>read_from</c> metric (accuracy, or gold log-probability when the baseline is at chance).
/// </summary>
public static class Phase3Figures
{
    /// <summary>The figure files, relative to the stage output.</summary>
    public static readonly string[] Files =
    [
        "figures/phase3_deltas.png", "figures/phase3_head_effects.png", "figures/phase3_patching.png", "figures/phase3_dose_response.png",
    ];

    private const int Width = 1000, Square = 640;

    /// <summary>Renders all four figures: relative path → PNG.</summary>
    public static IReadOnlyList<(string File, byte[] Png)> Render(string name, Phase3Summary s, int layers, int heads, int latents)
    {
        var logp = s.ReadFrom == "gold_logprob";
        var what = logp ? "Δ gold log-prob" : "Δ accuracy";
        return
        [
            (Files[0], Deltas(name, s, logp, what)),
            (Files[1], Grid($"{name}: single-head ablation, {what} (head scan)", "head", "layer", layers, heads,
                s.HeadEffects.Select(h => (h.Layer, h.Head, logp ? h.DeltaGoldLogProb : h.DeltaAccuracy)), c => c.ToString(CultureInfo.InvariantCulture))),
            (Files[2], Grid($"{name}: residual patching from a donor, {what}", "latent position", "layer", layers, latents,
                s.Patching.Select(p => (p.Layer, p.Latent - 1, logp ? p.DeltaGoldLogProb : p.DeltaAccuracy)), c => $"z{c + 1}")),
            (Files[3], Dose(name, s, logp, what)),
        ];
    }

    /// <summary>The Δ interval a figure draws for a condition.</summary>
    public static Interval Delta(ConditionStats c, bool logp) => logp ? c.DeltaGoldLogProb : c.DeltaAccuracy;

    private static byte[] Deltas(string name, Phase3Summary s, bool logp, string what)
    {
        var plot = NewPlot(string.Create(CultureInfo.InvariantCulture,
            $"{name}: {what} per condition (95% whiskers); 0 = measured baseline {s.Baseline.Correct}/{s.Baseline.N}"));
        // The grids (head scan, patching) have figures of their own; this one keeps the named conditions, one row each,
        // top to bottom in sweep order, so long names stay readable.
        var shown = s.Conditions.Where(c => c.Family is not ("head_scan" or "patching")).ToList();
        for (int i = 0; i < shown.Count; i++)
        {
            var (d, y) = (Delta(shown[i], logp), shown.Count - 1 - i);
            var colour = shown[i].ControlOf is null ? Color.FromHex("#1f77b4") : Color.FromHex("#999999");
            if (double.IsFinite(d.Low) && double.IsFinite(d.High))
            {
                var whisker = plot.Add.Line(d.Low, y, d.High, y);
                whisker.Color = colour;
                whisker.LineWidth = 2;
            }
            if (!double.IsFinite(d.Value)) continue;
            var point = plot.Add.Marker(d.Value, y);
            point.Color = colour;
            point.Size = 8;
        }
        var zero = plot.Add.VerticalLine(0);
        zero.LinePattern = LinePattern.Dashed;
        zero.Color = Colors.Black;
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. Enumerable.Range(0, shown.Count).Select(i => (double)(shown.Count - 1 - i))], [.. shown.Select(c => c.Name)]);
        plot.Axes.Bottom.Label.Text = what + " (grey: random controls)";
        plot.Axes.SetLimitsY(-1, Math.Max(1, shown.Count));
        return plot.GetImageBytes(Width, Math.Max(360, 120 + 22 * shown.Count), ImageFormat.Png);
    }

    private static byte[] Grid(
        string title, string xLabel, string yLabel, int rows, int columns, IEnumerable<(int Row, int Column, double Value)> cells,
        Func<int, string> columnName)
    {
        var values = new double[rows, columns];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < columns; j++) values[i, j] = double.NaN;
        foreach (var (r, c, v) in cells) values[r, c] = v;
        var plot = NewPlot(title);
        if (!values.Cast<double>().Any(double.IsFinite))
        {
            // A family the spec did not run: say so rather than draw an empty colour scale.
            var note = plot.Add.Text("not run in this sweep (see interventions.families)", 0, 0);
            note.LabelFontSize = 16;
            note.LabelAlignment = Alignment.MiddleCenter;
            plot.Axes.SetLimits(-1, 1, -1, 1);
            return plot.GetImageBytes(Square + 120, Square, ImageFormat.Png);
        }
        var max = values.Cast<double>().Where(double.IsFinite).Select(Math.Abs).DefaultIfEmpty(0).Max();
        var heatmap = plot.Add.Heatmap(values);
        heatmap.Colormap = new ScottPlot.Colormaps.Balance();
        heatmap.ManualRange = new ScottPlot.Range(-Math.Max(max, 1e-9), Math.Max(max, 1e-9));
        heatmap.NaNCellColor = Colors.White;
        plot.Add.ColorBar(heatmap);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. Enumerable.Range(0, rows).Select(i => (double)(rows - 1 - i))], [.. Enumerable.Range(0, rows).Select(i => $"L{i}")]);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. Enumerable.Range(0, columns).Select(j => (double)j)], [.. Enumerable.Range(0, columns).Select(columnName)]);
        if (rows * columns <= 200)
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < columns; j++)
                {
                    if (double.IsNaN(values[i, j])) continue;
                    var text = plot.Add.Text(values[i, j].ToString("0.00", CultureInfo.InvariantCulture), j, rows - 1 - i);
                    text.LabelAlignment = Alignment.MiddleCenter;
                    text.LabelFontSize = 10;
                    text.LabelFontName = FigureKit.FontName;
                }
        plot.Axes.Bottom.Label.Text = xLabel;
        plot.Axes.Left.Label.Text = yLabel + " (blank: not run)";
        return plot.GetImageBytes(Square + 120, Square, ImageFormat.Png);
    }

    private static byte[] Dose(string name, Phase3Summary s, bool logp, string what)
    {
        var plot = NewPlot($"{name}: top-k ablation by {s.HeadMetric}, {what} (95% whiskers)");
        void Series(IEnumerable<(int K, Interval? D)> points, string colour, string label, double shift)
        {
            var list = points.Where(p => p.D is { } d && double.IsFinite(d.Value)).Select(p => (X: p.K + shift, D: p.D!)).ToList();
            if (list.Count == 0) return;
            double[] xs = [.. list.Select(p => p.X)], ys = [.. list.Select(p => p.D.Value)];
            var line = plot.Add.Scatter(xs, ys);
            line.Color = Color.FromHex(colour);
            line.LineWidth = 2;
            line.MarkerSize = 8;
            line.LegendText = label;
            foreach (var (x, d) in list.Where(p => double.IsFinite(p.D.Low) && double.IsFinite(p.D.High)))
                plot.Add.Line(x, d.Low, x, d.High).Color = Color.FromHex(colour);
        }
        Series(s.DoseResponse.Select(d => (d.K, (Interval?)(logp ? d.DeltaGoldLogProb : d.DeltaAccuracy))), "#d62728", "top-k heads", 0);
        Series(s.DoseResponse.Select(d => (d.K, logp ? d.ControlDeltaGoldLogProb : d.ControlDeltaAccuracy)), "#7f7f7f",
            "random heads (same count per layer)", 0.15);
        var zero = plot.Add.HorizontalLine(0);
        zero.LinePattern = LinePattern.Dashed;
        zero.Color = Colors.Black;
        plot.Axes.Bottom.Label.Text = "k (heads ablated)";
        plot.Axes.Left.Label.Text = what;
        plot.ShowLegend();
        return plot.GetImageBytes(Square + 160, Square - 120, ImageFormat.Png);
    }

    private static Plot NewPlot(string title)
    {
        var plot = new Plot();
        plot.Font.Set(FigureKit.FontName);
        plot.Title(title);
        plot.Axes.Title.Label.FontSize = 14;
        return plot;
    }
}
