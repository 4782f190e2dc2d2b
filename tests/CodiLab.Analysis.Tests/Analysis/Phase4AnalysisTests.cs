using CodiLab.Analysis;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>Phase 4's statistics on constructed data whose answers are known.</summary>
public sealed class Phase4AnalysisTests
{
    private static readonly Phase4Shape Shape = new(4, 4, 3); // 16 heads, K = 3
    private static readonly Phase4Settings Settings = new(2.0, 0.3, 0.2, Subsets: 200, Bootstrap: 200, Seed: 42);

    // One problem's rows: head h reads its earlier latents with a weight that grows with h (so heads rank 15, 14, …, 0 by
    // both metrics), z5 → z1 is the strongest cell (the hub at column 0), plus seeded noise. `reversed` plants the opposite.
    private static (float[] Seed, float[] Latent) Rows(Random random, bool reversed, double noise)
    {
        const int s = Conventions.SeedSize;
        var (rows, cols) = Shape.Latent;
        var seed = new float[Shape.SeedCells];
        var latent = new float[Shape.LatentCells];
        Array.Fill(latent, float.NaN);
        for (int h = 0; h < Shape.HeadCount; h++)
        {
            var w = (reversed ? Shape.HeadCount - h : h + 1) / (double)Shape.HeadCount;
            double Noisy(double v) => Math.Max(0, v + noise * (random.NextDouble() - 0.5));
            for (int i = 1; i < s; i++)
                for (int j = 0; j < i; j++)
                    seed[h * s * s + i * s + j] = (float)Noisy((reversed ? 0.05 * (j + 1) : 0.3 / (j + 1)) * w);
            for (int q = 0; q < rows; q++)
                for (int c = 0; c < Math.Min(cols, q + 3); c++)
                    latent[(h * rows + q) * cols + c] = (float)Noisy(c == q + 1 && q >= 1 ? w : 0.1);
        }
        return (seed, latent);
    }

    private static Phase4Accumulator Accumulate(int n, IReadOnlyList<int> members, Func<int, bool> reversed, double noise = 0.02)
    {
        var random = new Random(7);
        var acc = new Phase4Accumulator(Shape, n, members.ToHashSet());
        for (int p = 0; p < n; p++)
        {
            var (seed, latent) = Rows(random, reversed(p), noise);
            acc.Add(p, true, seed, latent);
        }
        return acc;
    }

    [Fact]
    public void The_streaming_means_and_sds_equal_the_two_pass_ones()
    {
        // Given 50 noisy problems added one at a time,
        var random = new Random(3);
        var rows = Enumerable.Range(0, 50).Select(_ => Rows(random, false, 0.5)).ToList();
        var acc = new Phase4Accumulator(Shape, rows.Count, new HashSet<int>());
        for (int p = 0; p < rows.Count; p++) acc.Add(p, true, rows[p].Seed, rows[p].Latent);

        // then Welford's mean and population SD of a cell match the textbook two-pass values.
        var (mean, std) = acc.Seed();
        const int cell = 5 * 36 + 5 * 6 + 1;
        var values = rows.Select(r => (double)r.Seed[cell]).ToList();
        var expected = values.Average();
        Assert.Equal(expected, mean[cell], 12);
        Assert.Equal(Math.Sqrt(values.Average(v => (v - expected) * (v - expected))), std[cell], 12);
    }

    [Fact]
    public void A_sample_equal_to_the_full_set_correlates_perfectly_and_shares_every_top_head()
    {
        const int n = 60;
        var acc = Accumulate(n, [.. Enumerable.Range(0, n)], _ => false);

        var v = Phase4Analysis.Validate(Shape, acc, [.. Enumerable.Range(0, n)], Settings);

        Assert.All(v.Correlations, c => Assert.Equal(1.0, c.Pearson, 9));
        Assert.All(v.Correlations, c => Assert.Equal(1.0, c.Spearman, 9));
        Assert.Equal(15 * Shape.HeadCount, v.Correlations.Single(c => c.Convention == "seed").Cells); // visible seed cells only
        Assert.All(v.Overlaps, o => Assert.Equal((o.K, 1.0, 1.0, 1.0), (o.Count, o.Share, o.Jaccard, o.Rbo)));
        Assert.Equal(v.Full, v.Sample);
        Assert.All(v.Criteria.Where(c => c.Criterion.StartsWith("mean-pattern", StringComparison.Ordinal)), c => Assert.Equal("pass", c.Result));
        Assert.Contains(v.Criteria, c => c.Criterion.StartsWith("paired t-test", StringComparison.Ordinal) && c.Result == "not used");
    }

    [Fact]
    public void On_a_homogeneous_set_every_random_subset_reaches_the_full_sets_conclusions()
    {
        const int n = 200;
        var acc = Accumulate(n, [.. Enumerable.Range(0, 20)], _ => false, noise: 0.01);

        var sub = Phase4Analysis.Validate(Shape, acc, [.. Enumerable.Range(0, 20)], Settings).Subsampling;

        Assert.Equal(200, sub.Subsets);
        Assert.Equal(20, sub.Size);
        Assert.Equal(1.0, sub.SameHub);
        Assert.Equal(1.0, sub.SameFlow);
        Assert.Equal(1.0, sub.SameSkip);
        Assert.True(sub.SameAll > 0.95, $"share {sub.SameAll}");
    }

    [Fact]
    public void A_planted_difference_in_the_sample_lowers_correlation_and_overlap_and_sits_at_the_edge_of_the_subsets()
    {
        // Given a full set of 200 whose first 20 problems (the "sample") have the opposite head ranking and another pattern,
        const int n = 200;
        int[] members = [.. Enumerable.Range(0, 20)];
        var acc = Accumulate(n, members, p => p < 20);

        var v = Phase4Analysis.Validate(Shape, acc, members, Settings);

        // then the sample no longer matches the full set, the criteria fail, and random subsets of 20 look nothing like it.
        var seed = v.Correlations.Single(c => c.Convention == "seed");
        Assert.True(seed.Pearson < 0.9, $"seed correlation {seed.Pearson}");
        var top10 = v.Overlaps.Where(o => o.K == 10).ToList();
        Assert.All(top10, o => Assert.True(o.Share < 0.7, $"{o.Metric}: {o.Share}"));
        Assert.Contains(v.Criteria, c => c.Criterion.StartsWith("top-10", StringComparison.Ordinal) && c.Result == "fail");
        var overlap = v.Subsampling.Distributions.Single(d => d.Metric == "top10_overlap_seed_skip");
        Assert.True(overlap.Percentile < 5, $"percentile {overlap.Percentile}");
    }

    [Fact]
    public void Overlap_counts_jaccard_and_rank_biased_overlap_of_known_lists()
    {
        // Top-3 of [0,1,2,…] and [0,2,5,…]: shared {0,2} → 2, Jaccard 2/4; RBO with depth agreements 1/1, 1/2, 2/3 weighted
        // 1, 0.9, 0.81 → (1 + 0.45 + 0.54)/2.71.
        var (count, jaccard, rbo) = Phase4Analysis.Overlap([0, 1, 2, 3], [0, 2, 5, 1], 3);

        Assert.Equal(2, count);
        Assert.Equal(0.5, jaccard, 12);
        Assert.Equal((1 + 0.45 + 0.54) / 2.71, rbo, 12);
    }
}
