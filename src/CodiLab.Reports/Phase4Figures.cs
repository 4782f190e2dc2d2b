using System.Globalization;
using CodiLab.Analysis;
using ScottPlot;

namespace CodiLab.Reports;

/// <summary>
/// Phase 4's figures: the head-mean patterns of the Phase 1 sample and the full set side by side on one colour range; per-head
/// ranking metrics, sample against full; the subsampling histograms with the sample's own value marked; and the per-problem
/// distributions of the headline metrics over the full set.
/// </summary>
public static class Phase4Figures
{
    /// <summary>The figure files, relative to the stage output.</summary>
    public static readonly string[] Files =
    [
        "figures/phase4_patterns.png", "figures/phase4_head_scatter.png", "figures/phase4_subsampling.png", "figures/phase4_per_problem.png",
    ];

    private const int Bins = 20;

    /// <summary>Renders every figure: relative path → PNG.</summary>
    public static IReadOnlyList<(string File, byte[] Png)> Render(string name, Phase4Summary s) =>
    [
        (Files[0], Patterns(name, s)),
        (Files[1], FigureKit.Compose($"{name}: per-head ranking metrics, Phase 1 sample ({s.SampleProblems}) vs full set ({s.Problems})",
            [.. Phase4Metrics.HeadMetrics.Select(m => Scatter(m, s.HeadPoints.Where(p => p.Metric == m).ToList()))],
            Phase4Metrics.HeadMetrics.Count)),
        (Files[2], FigureKit.Compose(string.Create(CultureInfo.InvariantCulture,
                $"{name}: {s.Validation.Subsampling.Subsets} random subsets of {s.Validation.Subsampling.Size} (red: the Phase 1 sample; dashed: full set)"),
            [.. s.Validation.Subsampling.Distributions.Select(d => Histogram(d.Metric, d.Values, d.SampleValue, d.FullValue,
                string.Create(CultureInfo.InvariantCulture, $"sample at the {d.Percentile:0}th percentile")))], 3)),
        (Files[3], FigureKit.Compose($"{name}: per-problem headline metrics over the full set (red: Phase 1 sample mean; dashed: full mean)",
            [.. s.PerProblem.Select(kv => Histogram(kv.Key, kv.Value, SampleMean(s, kv.Key), FullMean(s, kv.Key), "problems"))], 4)),
    ];

    private static double SampleMean(Phase4Summary s, string metric) =>
        s.Validation.Headlines.FirstOrDefault(h => h.Metric == metric)?.Sample.Value ?? double.NaN;

    private static double FullMean(Phase4Summary s, string metric) =>
        s.Validation.Headlines.FirstOrDefault(h => h.Metric == metric)?.Full.Value ?? double.NaN;

    private static byte[] Patterns(string name, Phase4Summary s)
    {
        const int n = Conventions.SeedSize;
        var (rows, cols) = (s.Latents + 1, s.Latents + 3);
        var p = s.Patterns;
        double[] all = [.. p.SeedSample, .. p.SeedFull, .. p.LatentSample, .. p.LatentFull];
        var vmax = all.Where(double.IsFinite).DefaultIfEmpty(1).Max();
        MatrixPanel Seed(string title, double[] v) => new(title, FigureKit.Matrix(n, n, (i, j) => v[i * n + j]),
            Conventions.SeedRowLabels, Conventions.SeedColumnLabels) { Structural = FigureKit.SeedStructural() };
        MatrixPanel Latent(string title, double[] v) => new(title, FigureKit.Matrix(rows, cols, (i, j) => v[i * cols + j]),
            Conventions.LatentRows(s.Latents), Conventions.LatentColumnLabels(s.Latents));
        MatrixPanel[] panels =
        [
            Seed($"seed convention, sample ({s.SampleProblems})", p.SeedSample), Seed($"seed convention, full ({s.Problems})", p.SeedFull),
            Latent($"latent view, sample ({s.SampleProblems})", p.LatentSample), Latent($"latent view, full ({s.Problems})", p.LatentFull),
        ];
        return FigureKit.Heatmaps($"{name}: head-mean attention, Phase 1 sample vs full set (one colour range)", panels, 2, vmax,
            "key", "query", "attention (mean over problems and heads)");
    }

    private static byte[] Scatter(string metric, IReadOnlyList<Phase4HeadPoint> points)
    {
        var plot = NewPlot($"{metric} per head");
        var finite = points.Where(q => double.IsFinite(q.Full) && double.IsFinite(q.Sample)).ToList();
        if (finite.Count > 0)
        {
            double[] xs = [.. finite.Select(q => q.Full)], ys = [.. finite.Select(q => q.Sample)];
            var dots = plot.Add.ScatterPoints(xs, ys);
            dots.MarkerSize = 5;
            var (lo, hi) = (finite.Min(q => Math.Min(q.Full, q.Sample)), finite.Max(q => Math.Max(q.Full, q.Sample)));
            var diagonal = plot.Add.Line(lo, lo, hi, hi);
            diagonal.Color = Colors.Gray;
        }
        plot.Axes.Bottom.Label.Text = "full set (mean over problems)";
        plot.Axes.Left.Label.Text = "Phase 1 sample (mean over problems)";
        return plot.GetImageBytes(FigureKit.PanelWidth, FigureKit.PanelHeight, ImageFormat.Png);
    }

    private static byte[] Histogram(string title, IReadOnlyList<double> values, double marked, double reference, string yLabel)
    {
        var plot = NewPlot(title);
        double[] v = [.. values.Where(double.IsFinite)];
        if (v.Length > 0)
        {
            var (lo, hi) = (v.Min(), v.Max());
            var width = hi > lo ? (hi - lo) / Bins : 1;
            var counts = new double[Bins];
            foreach (var x in v) counts[Math.Min(Bins - 1, (int)((x - lo) / width))]++;
            var bars = plot.Add.Bars([.. Enumerable.Range(0, Bins).Select(b => lo + (b + 0.5) * width)], counts);
            foreach (var bar in bars.Bars)
            {
                bar.Size = width * 0.95;
                bar.FillColor = Color.FromHex("#4682b4");
            }
        }
        if (double.IsFinite(marked))
        {
            var line = plot.Add.VerticalLine(marked);
            line.Color = Colors.Red;
            line.LineWidth = 2;
        }
        if (double.IsFinite(reference))
        {
            var line = plot.Add.VerticalLine(reference);
            line.Color = Colors.Black;
            line.LinePattern = LinePattern.Dashed;
        }
        plot.Axes.Left.Label.Text = yLabel == "problems" ? "problems" : "subsets";
        plot.Axes.Bottom.Label.Text = yLabel == "problems" ? "value per problem" : yLabel;
        return plot.GetImageBytes(FigureKit.PanelWidth, FigureKit.PanelHeight, ImageFormat.Png);
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
