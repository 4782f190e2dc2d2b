using CodiLab.Analysis;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>Phase 3's statistics against values worked out by hand (each test's comment shows the arithmetic).</summary>
public sealed class Phase3StatisticsTests
{
    [Fact]
    public void Wilson_of_7_in_10_matches_the_hand_computed_interval()
    {
        // z² = 3.841459; centre = (0.7 + z²/20)/(1 + z²/10) = 0.644490; half = z·√(0.021 + z²/400)/(1 + z²/10) = 0.247715
        // (to 6 places: [0.396778, 0.892209], the textbook [0.3968, 0.8922]).
        var w = Phase3Statistics.Wilson(7, 10);
        Assert.Equal(0.7, w.Value, 12);
        Assert.Equal(0.396778, w.Low, 5);
        Assert.Equal(0.892209, w.High, 5);
    }

    [Fact]
    public void Wilson_at_zero_and_at_n_stays_inside_the_unit_interval_and_is_not_empty()
    {
        // 0/10: centre = half = (z²/20)/(1 + z²/10) = 0.138766, so [0, 0.277533]; n/n mirrors it.
        var zero = Phase3Statistics.Wilson(0, 10);
        Assert.Equal(0, zero.Low, 12);
        Assert.Equal(0.277533, zero.High, 5);
        var all = Phase3Statistics.Wilson(10, 10);
        Assert.Equal(1 - 0.277533, all.Low, 5);
        Assert.Equal(1, all.High, 12);
    }

    [Theory]
    [InlineData(1, 6, 0.125)]     // n = 7: P[X ≤ 1] = (1 + 7)/128 = 0.0625, doubled
    [InlineData(0, 5, 0.0625)]    // n = 5: P[X = 0] = 1/32, doubled
    [InlineData(3, 3, 1.0)]       // n = 6: 2·(1 + 6 + 15 + 20)/64 = 1.3125, capped at 1
    [InlineData(0, 0, 1.0)]       // no discordant problem
    [InlineData(10, 0, 0.001953125)] // 2/1024
    public void McNemar_exact_matches_the_binomial_tail(int fixedCount, int broken, double expected) =>
        Assert.Equal(expected, Phase3Statistics.McNemarExact(fixedCount, broken), 10);

    [Fact]
    public void Benjamini_Hochberg_on_a_known_list()
    {
        // sorted 0.005, 0.01, 0.03, 0.04 → m·p/rank = 0.02, 0.02, 0.04, 0.04; running minimum from the top keeps them.
        var q = Phase3Statistics.BenjaminiHochberg([0.01, 0.04, 0.03, 0.005]);
        Assert.Equal([0.02, 0.04, 0.04, 0.02], q.Select(v => Math.Round(v, 12)));
        // 0.01, 0.02, 0.03 → 0.04, 0.04, 0.04 (monotone step-up); 0.5 → 0.5; NaN stays NaN and is not counted.
        var q2 = Phase3Statistics.BenjaminiHochberg([0.01, double.NaN, 0.02, 0.03, 0.5]);
        Assert.Equal(0.04, q2[0], 12);
        Assert.True(double.IsNaN(q2[1]));
        Assert.Equal(0.04, q2[2], 12);
        Assert.Equal(0.04, q2[3], 12);
        Assert.Equal(0.5, q2[4], 12);
    }

    [Fact]
    public void Spearman_uses_mid_ranks_for_ties()
    {
        // y ranks 1, 2, 3.5, 5, 3.5; Σdx·dy = 8, Σdx² = 10, Σdy² = 9.5 → ρ = 8/√95 = 0.820783.
        var s = Phase3Statistics.SpearmanWithInterval([1, 2, 3, 4, 5], [5, 6, 7, 8, 7], 500, 1);
        Assert.Equal(0.820783, s.Value, 5);
        Assert.InRange(s.Low, -1, s.Value);
        Assert.InRange(s.High, s.Value, 1);
    }

    [Fact]
    public void Spearman_of_a_constant_side_is_not_a_number()
    {
        var s = Phase3Statistics.SpearmanWithInterval([1, 2, 3, 4], [0, 0, 0, 0], 100, 1);
        Assert.True(double.IsNaN(s.Value));
    }

    [Fact]
    public void Paired_counts_and_delta_accuracy()
    {
        bool[] baseline = [true, true, false, false, true, false];
        bool[] condition = [true, false, true, false, false, false];
        Assert.Equal(new PairedCounts(1, 2, 3), Phase3Statistics.Paired(baseline, condition));
        var d = Phase3Statistics.DeltaAccuracy(baseline, condition, 1000, 7);
        Assert.Equal(-1.0 / 6, d.Value, 12); // 2/6 − 3/6
        Assert.True(d.Low <= d.Value && d.Value <= d.High);
        Assert.InRange(d.Low, -1, 0);
    }

    [Fact]
    public void The_bootstrap_is_reproducible_from_its_seed_and_degenerate_for_constant_differences()
    {
        double[] diffs = [0.5, -1, 2, 0, 0.25, 1.5, -0.5];
        Assert.Equal(Phase3Statistics.PairedBootstrapMean(diffs, 300, 3), Phase3Statistics.PairedBootstrapMean(diffs, 300, 3));
        Assert.NotEqual(Phase3Statistics.PairedBootstrapMean(diffs, 300, 3), Phase3Statistics.PairedBootstrapMean(diffs, 300, 4));
        Assert.Equal(new Interval(1, 1, 1), Phase3Statistics.PairedBootstrapMean([1, 1, 1, double.NaN], 50, 1));
    }

    [Fact]
    public void Binomial_upper_tail()
    {
        // P[X ≥ 2], X ~ Binomial(3, ½) = (3 + 1)/8.
        Assert.Equal(0.5, Phase3Statistics.BinomialAtLeast(2, 3, 0.5), 12);
        Assert.Equal(1, Phase3Statistics.BinomialAtLeast(0, 3, 0.1));
        Assert.Equal(0, Phase3Statistics.BinomialAtLeast(1, 3, 0));
    }
}
