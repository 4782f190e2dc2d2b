using MathNet.Numerics.Statistics;

namespace CodiLab.Analysis;

/// <summary>What a set of problems concludes, as Phase 1 states it: where the hub is, and the three verdicts.</summary>
public sealed record Phase4Conclusions(int HubPosition, double HubRatio, bool Hub, double AvgSequential, bool Flow, double AvgSkip, bool Skip);

/// <summary>Mean-pattern agreement of the Phase 1 sample with the full set over the visible cells of one convention.</summary>
public sealed record Phase4Correlation(string Convention, int Cells, double Pearson, double Spearman, Interval PearsonInterval);

/// <summary>Top-k head agreement (sample vs full) for one ranking metric, with the share's bootstrap interval over the sample.</summary>
public sealed record Phase4Overlap(
    string Metric, int K, int Count, double Share, double Jaccard, double Rbo, Interval ShareInterval,
    IReadOnlyList<string> SampleTop, IReadOnlyList<string> FullTop);

/// <summary>A headline metric's mean with its bootstrap 95% interval, on the sample and on the full set.</summary>
public sealed record Phase4Headline(string Metric, Interval Sample, Interval Full);

/// <summary>A statistic over random subsets of the sample's size: its values, the sample's own value, and its percentile.</summary>
public sealed record Phase4Distribution(string Metric, double SampleValue, double FullValue, double Percentile, double[] Values);

/// <summary>The subsampling result: how often a random subset of the sample's size reaches the full set's conclusions.</summary>
public sealed record Phase4Subsampling(
    int Subsets, int Size, double SameHub, double SameFlow, double SameSkip, IReadOnlyDictionary<string, double> SameTopHeads,
    double SameAll, IReadOnlyList<Phase4Distribution> Distributions);

/// <summary>One head's rank under bootstrap resampling of the full set, and how often it is in the top k.</summary>
public sealed record Phase4HeadRank(string Metric, int Layer, int Head, double Value, Interval Rank, double PTop);

/// <summary>One of the seed's Phase 4 criteria: threshold, measured value, interval and verdict.</summary>
public sealed record Phase4Criterion(string Criterion, string Threshold, double? Value, Interval? Interval, string Result, string Note);

/// <summary>Thresholds and counts Phase 4's validation uses.</summary>
public sealed record Phase4Settings(
    double HubRatioThreshold, double SequentialThreshold, double SkipThreshold, int Subsets, int Bootstrap, long Seed);

/// <summary>Everything the validation measured.</summary>
public sealed record Phase4Validation(
    Phase4Conclusions Sample, Phase4Conclusions Full, IReadOnlyList<Phase4Correlation> Correlations,
    IReadOnlyList<Phase4Overlap> Overlaps, IReadOnlyList<Phase4Headline> Headlines, Phase4Subsampling Subsampling,
    IReadOnlyList<Phase4HeadRank> HeadRanks, IReadOnlyList<Phase4Criterion> Criteria);

/// <summary>
/// Phase 4's validation of Phase 1–2 on the full set (docs/phase4.md): correlations of the mean patterns over visible
/// cells, top-k head overlap, bootstrap intervals, the subsampling distribution of sample-sized subsets, and head-rank
/// intervals. Every random draw is seeded. Pure arithmetic on what <see cref="Phase4Accumulator"/> gathered.
/// </summary>
public static partial class Phase4Analysis
{
    /// <summary>The k of the overlap criteria (capped at the model's head count).</summary>
    public static readonly int[] TopK = [10, 20];

    /// <summary>The seed's thresholds: correlation above 0.9, top-10 overlap above 70%.</summary>
    public const double CorrelationThreshold = 0.9, OverlapThreshold = 0.7;

    /// <summary>Rank-biased overlap's persistence (weight of depth d is p^(d−1)).</summary>
    public const double RboP = 0.9;

    /// <summary>Runs the whole validation; <paramref name="members"/> are the sample's problem indices in the full set.</summary>
    public static Phase4Validation Validate(Phase4Shape shape, Phase4Accumulator acc, IReadOnlyList<int> members, Phase4Settings s)
    {
        var n = acc.Headline[0].Length;
        int[] all = [.. Enumerable.Range(0, n)];
        var full = Conclude(acc, all, s);
        var sample = Conclude(acc, [.. members], s);
        var correlations = Correlations(acc, members, s);
        var overlaps = Overlaps(shape, acc, members, s);
        var headlines = Phase4Metrics.Headline.Select((m, i) => new Phase4Headline(m,
            MeanInterval(acc.Headline[i], [.. members], s.Bootstrap, s.Seed), MeanInterval(acc.Headline[i], all, s.Bootstrap, s.Seed))).ToList();
        var subsampling = Subsample(shape, acc, members, full, s);
        var ranks = HeadRanks(shape, acc, s);
        return new Phase4Validation(sample, full, correlations, overlaps, headlines, subsampling, ranks,
            Criteria(correlations, overlaps, headlines, subsampling));
    }

    /// <summary>The conclusions of a set of problems, from the means of their per-problem values.</summary>
    public static Phase4Conclusions Conclude(Phase4Accumulator acc, int[] set, Phase4Settings s)
    {
        var hub = new double[Conventions.SeedSize];
        foreach (var p in set)
            for (int j = 0; j < hub.Length; j++) hub[j] += acc.HubIncoming[p][j] / set.Length;
        var position = Array.IndexOf(hub, hub.Max());
        var ratio = hub[position] * Conventions.SeedSize;
        var seq = set.Average(p => acc.Headline[1][p]);
        var skip = set.Average(p => acc.Headline[3][p]);
        return new Phase4Conclusions(position, ratio, ratio > s.HubRatioThreshold, seq, seq > s.SequentialThreshold, skip,
            skip > s.SkipThreshold);
    }

    /// <summary>Heads (layer-major indices) ranked by a metric's mean over a set, best first, ties by index.</summary>
    public static int[] Ranking(float[] values, int heads, IReadOnlyList<int> set)
    {
        var (sum, count) = (new double[heads], new int[heads]);
        foreach (var p in set)
            for (int h = 0; h < heads; h++)
            {
                var v = values[(long)p * heads + h];
                if (float.IsNaN(v)) continue;
                sum[h] += v;
                count[h]++;
            }
        var mean = sum.Select((v, h) => count[h] == 0 ? double.NegativeInfinity : v / count[h]).ToArray();
        return [.. Enumerable.Range(0, heads).OrderByDescending(h => mean[h]).ThenBy(h => h)];
    }

    /// <summary>Shared heads of two top-k lists, their Jaccard index, and rank-biased overlap at depth k.</summary>
    public static (int Count, double Jaccard, double Rbo) Overlap(IReadOnlyList<int> a, IReadOnlyList<int> b, int k)
    {
        var (sa, sb) = (a.Take(k).ToHashSet(), b.Take(k).ToHashSet());
        var common = sa.Intersect(sb).Count();
        var jaccard = (double)common / sa.Union(sb).Count();
        // Truncated RBO, normalised so identical lists score 1: Σ p^(d−1)·|A_d ∩ B_d|/d over Σ p^(d−1).
        double rbo = 0, weight = 0;
        for (int d = 1; d <= k; d++)
        {
            var w = Math.Pow(RboP, d - 1);
            rbo += w * a.Take(d).Intersect(b.Take(d)).Count() / d;
            weight += w;
        }
        return (common, jaccard, rbo / weight);
    }

    /// <summary>Pearson and Spearman correlation of two patterns over the cells both define (finite in both).</summary>
    public static (int Cells, double Pearson, double Spearman) Correlate(IReadOnlyList<double> a, IReadOnlyList<double> b, Func<int, bool> visible)
    {
        var pairs = Enumerable.Range(0, a.Count).Where(c => visible(c) && double.IsFinite(a[c]) && double.IsFinite(b[c]))
            .Select(c => (a[c], b[c])).ToList();
        if (pairs.Count < 3) return (pairs.Count, double.NaN, double.NaN);
        var (x, y) = (pairs.Select(p => p.Item1).ToArray(), pairs.Select(p => p.Item2).ToArray());
        return (pairs.Count, Correlation.Pearson(x, y), Correlation.Spearman(x, y));
    }

    /// <summary>Whether a seed-convention cell can be non-zero: row s (z_s) reading column j &lt; s.</summary>
    public static bool SeedVisible(int cell)
    {
        var within = cell % (Conventions.SeedSize * Conventions.SeedSize);
        var (row, column) = (within / Conventions.SeedSize, within % Conventions.SeedSize);
        return row >= 1 && column < row;
    }

    /// <summary>The mean of per-problem values over a set (NaN dropped) and its percentile bootstrap interval.</summary>
    public static Interval MeanInterval(double[] values, int[] set, int resamples, long seed)
    {
        double[] v = [.. set.Select(p => values[p]).Where(x => !double.IsNaN(x))];
        return Bootstrap.Of(v.Length, idx => idx.Average(i => v[i]), resamples, unchecked((int)seed));
    }

    private static List<Phase4Correlation> Correlations(Phase4Accumulator acc, IReadOnlyList<int> members, Phase4Settings s)
    {
        var result = new List<Phase4Correlation>();
        foreach (var (name, fullMean, rows, visible) in new (string, double[], Dictionary<int, float[]>, Func<int, bool>)[]
        {
            ("seed", acc.Seed().Mean, acc.MemberSeed, SeedVisible), ("latent", acc.Latent().Mean, acc.MemberLatent, _ => true),
        })
        {
            float[][] sampleRows = [.. members.Select(m => rows[m])];
            var (cells, pearson, spearman) = Correlate(MeanOf(sampleRows, [.. Enumerable.Range(0, sampleRows.Length)]), fullMean, visible);
            var interval = Bootstrap.Of(sampleRows.Length, idx => Correlate(MeanOf(sampleRows, idx), fullMean, visible).Pearson,
                ResamplesOf(s), unchecked((int)s.Seed));
            result.Add(new Phase4Correlation(name, cells, pearson, spearman, interval));
        }
        return result;
    }

    // The per-cell mean of some rows, NaN skipped (NaN where every row is NaN).
    private static double[] MeanOf(float[][] rows, int[] idx)
    {
        var cells = rows.Length == 0 ? 0 : rows[0].Length;
        var (sum, count) = (new double[cells], new int[cells]);
        foreach (var i in idx)
            for (int c = 0; c < cells; c++)
            {
                var v = rows[i][c];
                if (float.IsNaN(v)) continue;
                sum[c] += v;
                count[c]++;
            }
        return [.. sum.Select((v, c) => count[c] == 0 ? double.NaN : v / count[c])];
    }

    private static List<Phase4Overlap> Overlaps(Phase4Shape shape, Phase4Accumulator acc, IReadOnlyList<int> members, Phase4Settings s)
    {
        var result = new List<Phase4Overlap>();
        var heads = shape.HeadCount;
        int[] all = [.. Enumerable.Range(0, acc.Headline[0].Length)];
        for (int m = 0; m < Phase4Metrics.HeadMetrics.Count; m++)
        {
            var values = acc.HeadValues[m];
            var full = Ranking(values, heads, all);
            var sample = Ranking(values, heads, members);
            foreach (var k in TopK.Select(k => Math.Min(k, heads)).Distinct())
            {
                var (count, jaccard, rbo) = Overlap(sample, full, k);
                var interval = Bootstrap.Of(members.Count,
                    idx => Overlap(Ranking(values, heads, [.. idx.Select(i => members[i])]), full, k).Count / (double)k,
                    ResamplesOf(s), unchecked((int)s.Seed));
                result.Add(new Phase4Overlap(Phase4Metrics.HeadMetrics[m], k, count, count / (double)k, jaccard, rbo,
                    interval, [.. sample.Take(k).Select(h => Name(h, shape))],
                    [.. full.Take(k).Select(h => Name(h, shape))]));
            }
        }
        return result;
    }

    // Resamples for statistics that re-derive a mean pattern or a ranking per draw: a fifth of the spec's count, at least 20.
    private static int ResamplesOf(Phase4Settings s) => Math.Max(20, s.Bootstrap / 5);

    /// <summary>A head's name, L{layer}H{head}, from its layer-major index.</summary>
    public static string Name(int head, Phase4Shape shape) => $"L{head / shape.Heads}H{head % shape.Heads}";
}
