using System.Globalization;

namespace CodiLab.Analysis;

/// <summary>Phase 4's subsampling distribution, head-rank intervals and the seed's criteria table.</summary>
public static partial class Phase4Analysis
{
    // Random subsets of the sample's size (without replacement, seeded): the share reaching the full set's conclusions,
    // and where the actual sample sits among them for each summary statistic.
    private static Phase4Subsampling Subsample(
        Phase4Shape shape, Phase4Accumulator acc, IReadOnlyList<int> members, Phase4Conclusions full, Phase4Settings s)
    {
        var n = acc.Headline[0].Length;
        var size = members.Count;
        var heads = shape.HeadCount;
        var k = Math.Min(10, heads);
        int[] all = [.. Enumerable.Range(0, n)];
        var fullTop = Phase4Metrics.HeadMetrics.Select((_, m) => Ranking(acc.HeadValues[m], heads, all)).ToArray();
        var random = new Random(unchecked((int)s.Seed) ^ 0x5EED);
        var (hub, flow, skip, both) = (0, 0, 0, 0);
        var sameTop = new int[Phase4Metrics.HeadMetrics.Count];
        var stats = new List<double[]>();
        var pool = (int[])all.Clone();
        for (int r = 0; r < s.Subsets; r++)
        {
            // Partial Fisher–Yates: the first `size` entries are a uniform subset.
            for (int i = 0; i < size; i++)
            {
                var j = i + random.Next(n - i);
                (pool[i], pool[j]) = (pool[j], pool[i]);
            }
            var subset = pool[..size];
            var (c, row) = SubsetStats(acc, subset, fullTop, heads, k, s);
            var same = c.HubPosition == full.HubPosition;
            hub += same ? 1 : 0;
            flow += c.Flow == full.Flow ? 1 : 0;
            skip += c.Skip == full.Skip ? 1 : 0;
            var allTop = true;
            for (int m = 0; m < sameTop.Length; m++)
            {
                var ok = row[3 + m] > OverlapThreshold;
                sameTop[m] += ok ? 1 : 0;
                allTop &= ok;
            }
            both += same && c.Flow == full.Flow && c.Skip == full.Skip && allTop ? 1 : 0;
            stats.Add(row);
        }
        var (_, sampleRow) = SubsetStats(acc, [.. members], fullTop, heads, k, s);
        var (_, fullRow) = SubsetStats(acc, all, fullTop, heads, k, s);
        string[] names = ["hub_ratio", "seed_avg_sequential", "seed_avg_skip", .. Phase4Metrics.HeadMetrics.Select(m => $"top{k}_overlap_{m}")];
        var distributions = names.Select((name, i) =>
        {
            double[] values = [.. stats.Select(x => x[i])];
            var below = values.Count(v => v < sampleRow[i]) + 0.5 * values.Count(v => v == sampleRow[i]);
            return new Phase4Distribution(name, sampleRow[i], fullRow[i], 100.0 * below / values.Length, values);
        }).ToList();
        double Share(int count) => (double)count / s.Subsets;
        return new Phase4Subsampling(s.Subsets, size, Share(hub), Share(flow), Share(skip),
            Phase4Metrics.HeadMetrics.Select((m, i) => (m, Share(sameTop[i]))).ToDictionary(x => x.m, x => x.Item2), Share(both),
            distributions);
    }

    // A subset's conclusions and its statistics row: hub ratio, sequential, skip, then top-k overlap share per metric.
    private static (Phase4Conclusions, double[]) SubsetStats(
        Phase4Accumulator acc, int[] subset, int[][] fullTop, int heads, int k, Phase4Settings s)
    {
        var c = Conclude(acc, subset, s);
        var row = new List<double> { c.HubRatio, c.AvgSequential, c.AvgSkip };
        for (int m = 0; m < fullTop.Length; m++) row.Add(Overlap(Ranking(acc.HeadValues[m], heads, subset), fullTop[m], k).Count / (double)k);
        return (c, [.. row]);
    }

    // Per metric, every head's rank (1 = best) over bootstrap resamples of the full set, and P(in the top 20).
    private static List<Phase4HeadRank> HeadRanks(Phase4Shape shape, Phase4Accumulator acc, Phase4Settings s)
    {
        var n = acc.Headline[0].Length;
        var heads = shape.HeadCount;
        var top = Math.Min(20, heads);
        var result = new List<Phase4HeadRank>();
        int[] all = [.. Enumerable.Range(0, n)];
        for (int m = 0; m < Phase4Metrics.HeadMetrics.Count; m++)
        {
            var values = acc.HeadValues[m];
            var point = Ranking(values, heads, all);
            var mean = MeanPerHead(values, heads, all);
            var random = new Random(unchecked((int)s.Seed) + m);
            var draws = Math.Max(20, s.Bootstrap / 5);
            var ranks = new double[heads][];
            for (int h = 0; h < heads; h++) ranks[h] = new double[draws];
            var inTop = new int[heads];
            for (int r = 0; r < draws; r++)
            {
                int[] idx = [.. all.Select(_ => random.Next(n))];
                var order = Ranking(values, heads, idx);
                for (int at = 0; at < heads; at++)
                {
                    ranks[order[at]][r] = at + 1;
                    if (at < top) inTop[order[at]]++;
                }
            }
            var pointRank = new int[heads];
            for (int at = 0; at < heads; at++) pointRank[point[at]] = at + 1;
            foreach (var h in point.Take(top))
                result.Add(new Phase4HeadRank(Phase4Metrics.HeadMetrics[m], h / shape.Heads, h % shape.Heads, mean[h],
                    Bootstrap.Percentiles(pointRank[h], ranks[h]), (double)inTop[h] / draws));
        }
        return result;
    }

    private static double[] MeanPerHead(float[] values, int heads, int[] set) =>
        [.. Enumerable.Range(0, heads).Select(h =>
            set.Select(p => (double)values[(long)p * heads + h]).Where(v => !double.IsNaN(v)).DefaultIfEmpty(double.NaN).Average())];

    // The seed's criteria as a table. Its paired t-test between the two sets is listed and not run: the sample is a
    // subset of the full set, so the two means are not independent samples and the test's premise fails.
    private static List<Phase4Criterion> Criteria(
        IReadOnlyList<Phase4Correlation> correlations, IReadOnlyList<Phase4Overlap> overlaps, IReadOnlyList<Phase4Headline> headlines,
        Phase4Subsampling sub)
    {
        static string Verdict(double value, double threshold) => double.IsNaN(value) ? "n/a" : value > threshold ? "pass" : "fail";
        var rows = new List<Phase4Criterion>();
        foreach (var c in correlations)
            rows.Add(new($"mean-pattern correlation, sample vs full ({c.Convention}, Pearson, {c.Cells} visible cells)", "> 0.9",
                c.Pearson, c.PearsonInterval, Verdict(c.Pearson, CorrelationThreshold),
                string.Create(CultureInfo.InvariantCulture, $"Spearman {c.Spearman:0.0000}; interval: bootstrap over the sample's problems")
                + (c.PearsonInterval is { } ci && double.IsFinite(ci.Low) && !ci.Contains(c.Pearson)
                    ? "; the value lies outside its interval: resampling the sample's problems adds noise to its mean pattern, "
                        + "which lowers the correlation, so the interval is biased low and its upper end is the conservative reading"
                    : "")));
        foreach (var o in overlaps.Where(o => o.K == overlaps.Where(x => x.Metric == o.Metric).Min(x => x.K)))
            rows.Add(new($"top-{o.K} head overlap, sample vs full ({o.Metric})", "> 70%", o.Share, o.ShareInterval,
                Verdict(o.Share, OverlapThreshold),
                string.Create(CultureInfo.InvariantCulture, $"{o.Count}/{o.K} shared; Jaccard {o.Jaccard:0.00}; RBO {o.Rbo:0.00}")));
        var finite = headlines.Count(h => double.IsFinite(h.Sample.Low) && double.IsFinite(h.Full.Low));
        rows.Add(new("95% confidence intervals on the headline metrics (both sets)", "every metric", finite, null,
            finite == headlines.Count ? "pass" : "fail",
            string.Create(CultureInfo.InvariantCulture, $"{finite} of {headlines.Count} metrics have a bootstrap interval on both sets")));
        rows.Add(new("subsets of the sample's size reaching the full set's conclusions", "reported", sub.SameAll, null, "reported",
            string.Create(CultureInfo.InvariantCulture,
                $"hub {sub.SameHub:P0}, flow {sub.SameFlow:P0}, skip {sub.SameSkip:P0} of {sub.Subsets} random subsets")));
        rows.Add(new("paired t-test, sample vs full", "not used", null, null, "not used",
            "the sample is a subset of the full set, so the two are not independent samples; the subsampling distribution answers "
            + "the question instead"));
        return rows;
    }
}
