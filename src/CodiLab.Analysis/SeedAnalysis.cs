namespace CodiLab.Analysis;

/// <summary>One head's aggregate numbers (docs/experiment.md#aggregation).</summary>
public sealed record HeadStat(int Layer, int Head, double MaxAttention, double MeanAttention, double StdAttention);

/// <summary>
/// The seed's aggregation (script 3) and hub/flow/skip analysis (script 5) exactly as docs/experiment.md#seed-analysis define them,
/// on [L, H, 6, 6] matrices. Every formula runs over all 36 cells, structural zeros included, in float32 where
/// NumPy did (mean: add problems in order, then divide; population std).
/// </summary>
public static class SeedAnalysis
{
    private const int S = Conventions.SeedSize;
    private const int Cells = S * S;

    /// <summary>Mean and population std over problems of raw [N, L, H, 6, 6] (float32 arithmetic).</summary>
    public static (float[] Mean, float[] Std) MeanStd(float[] raw, int n) => MeanStd(() => [(0, n, raw)], n, raw.Length / n);

    /// <summary>
    /// The same from the array given in blocks of whole problems (first problem, problems, values), read twice in order,
    /// so that it is never held whole.
    /// </summary>
    public static (float[] Mean, float[] Std) MeanStd(Func<IEnumerable<(long First, int Count, float[] Values)>> blocks, int n, int cells)
    {
        var mean = new float[cells];
        var std = new float[cells];
        foreach (var (_, count, values) in blocks())
            for (int p = 0; p < count; p++)
                for (int c = 0; c < cells; c++) mean[c] += values[(long)p * cells + c];
        for (int c = 0; c < cells; c++) mean[c] /= n;
        var sq = new float[cells];
        foreach (var (_, count, values) in blocks())
            for (int p = 0; p < count; p++)
                for (int c = 0; c < cells; c++)
                {
                    var d = values[(long)p * cells + c] - mean[c];
                    sq[c] += d * d;
                }
        for (int c = 0; c < cells; c++) std[c] = MathF.Sqrt(sq[c] / n);
        return (mean, std);
    }

    /// <summary>Per-head max, mean and mean std over the 36 cells, enumerated layer-major.</summary>
    public static List<HeadStat> Heads(float[] mean, float[] std, int layers, int heads)
    {
        var result = new List<HeadStat>(layers * heads);
        for (int l = 0; l < layers; l++)
            for (int h = 0; h < heads; h++)
            {
                var at = (l * heads + h) * Cells;
                var cells = mean.AsSpan(at, Cells);
                double max = float.MinValue, sum = 0, stdSum = 0;
                for (int c = 0; c < Cells; c++)
                {
                    max = Math.Max(max, cells[c]);
                    sum += cells[c];
                    stdSum += std[at + c];
                }
                result.Add(new HeadStat(l, h, max, (float)(sum / Cells), (float)(stdSum / Cells)));
            }
        return result;
    }

    /// <summary>The top k heads by max attention, stable (ties keep layer-major order).</summary>
    public static List<HeadStat> Top(IEnumerable<HeadStat> heads, int k) => [.. heads.OrderByDescending(h => h.MaxAttention).Take(k)];

    /// <summary>Column sum (incoming) and row sum (outgoing) of position p, averaged over heads.</summary>
    public static (double[] Incoming, double[] Outgoing) PositionFlows(float[] mean, int headCount)
    {
        var incoming = new double[S];
        var outgoing = new double[S];
        for (int hd = 0; hd < headCount; hd++)
            for (int i = 0; i < S; i++)
                for (int j = 0; j < S; j++)
                {
                    var v = mean[hd * Cells + i * S + j];
                    incoming[j] += v;
                    outgoing[i] += v;
                }
        for (int p = 0; p < S; p++)
        {
            incoming[p] = (float)(incoming[p] / headCount);
            outgoing[p] = (float)(outgoing[p] / headCount);
        }
        return (incoming, outgoing);
    }

    /// <summary>attention_stats.json (docs/experiment.md#aggregation).</summary>
    public static SeedStats Stats(string model, int n, int layers, int heads, float[] mean, float[] std, int top)
    {
        var headStats = Heads(mean, std, layers, heads);
        var (incoming, outgoing) = PositionFlows(mean, layers * heads);
        var meanStd = std.Select(v => (double)v).Average();
        return new SeedStats(model, n, layers, heads,
            new SeedConsistency((float)meanStd, std.Max(), std.Min(), meanStd < 0.2),
            [.. Top(headStats, top)
                .Select(h => new SeedTopHead(h.Layer, h.Head, (float)h.MaxAttention, (float)h.MeanAttention, (float)h.StdAttention))],
            [.. Enumerable.Range(0, S).Select(p => new SeedPositionStat(p, incoming[p], outgoing[p]))],
            new SeedOverallStats((float)mean.Select(v => (double)v).Average(), mean.Max(), mean.Min()));
    }

    /// <summary>Hub, sequential flow and skip scores of script 5, on the float16-rounded mean.</summary>
    public sealed record Scores(double[] Hub, double[] Sequential, double Pos5To4, double[] Skip)
    {
        /// <summary>First argmax of hub.</summary>
        public int HubPosition => Array.IndexOf(Hub, Hub.Max());

        /// <summary>Mean of the sequential scores.</summary>
        public double AvgSequential => Sequential.Average();

        /// <summary>Mean of the skip scores.</summary>
        public double AvgSkip => Skip.Average();
    }

    /// <summary>hub[p] = mean over heads of column p's sum; seq[i] = mean M[i, i−1]; M[5, 4]; skip[t] = mean M[5, t], t = 0..2.</summary>
    public static Scores Analyze(float[] rounded, int headCount)
    {
        double Cell(int i, int j)
        {
            double sum = 0;
            for (int hd = 0; hd < headCount; hd++) sum += rounded[hd * Cells + i * S + j];
            return (float)(sum / headCount);
        }
        var hub = PositionFlows(rounded, headCount).Incoming;
        var seq = Enumerable.Range(1, S - 1).Select(i => Cell(i, i - 1)).ToArray();
        var skip = Enumerable.Range(0, 3).Select(t => Cell(5, t)).ToArray();
        return new Scores(hub, seq, Cell(5, 4), skip);
    }

    /// <summary>attention_summary.json with the seed's field names and the spec's thresholds.</summary>
    public static SeedSummary Summary(string model, Scores s, double hubRatioThreshold, double sequentialThreshold, double skipThreshold)
    {
        var hubScore = s.Hub[s.HubPosition];
        var ratio = hubScore / (1.0 / S);
        return new SeedSummary(model,
            new SeedHubAnalysis(s.HubPosition, hubScore, 1.0 / S, ratio, ratio > hubRatioThreshold, s.Hub),
            new SeedSequentialFlow(s.AvgSequential > sequentialThreshold, s.AvgSequential, s.Sequential, s.Pos5To4),
            new SeedSkipConnections(s.AvgSkip > skipThreshold, s.AvgSkip, s.Skip),
            new SeedAnswers(s.HubPosition, s.AvgSequential > sequentialThreshold, s.Pos5To4 > 0.15, s.AvgSkip > skipThreshold));
    }
}
