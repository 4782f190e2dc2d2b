using CodiLab.Analysis;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>The percentile bootstrap over problems and the uniform-causal expectation of seed cells.</summary>
public sealed class BootstrapTests
{
    private static readonly double[] Values = [.. Enumerable.Range(0, 40).Select(i => (i * 37 % 17) / 10.0)];

    [Fact]
    public void Intervals_are_seeded_so_the_same_input_gives_the_same_interval()
    {
        Assert.Equal(Bootstrap.Mean(Values), Bootstrap.Mean(Values));
        var i = Bootstrap.Mean(Values);
        Assert.Equal(Values.Average(), i.Value, 12);
        Assert.True(i.Low < i.Value && i.Value < i.High);
        // The standard error of a mean of 40 values: the interval is about ±1.96 SE wide; allow 25% for the bootstrap's noise.
        var se = Math.Sqrt(Values.Sum(v => Math.Pow(v - Values.Average(), 2)) / Values.Length / Values.Length);
        Assert.InRange((i.High - i.Low) / (2 * 1.96 * se), 0.75, 1.25);
    }

    [Fact]
    public void A_constant_has_a_zero_width_interval_and_NaN_is_left_out()
    {
        Assert.Equal(new Interval(0.25, 0.25, 0.25), Bootstrap.Mean([0.25, 0.25, double.NaN, 0.25]));
        Assert.True(double.IsNaN(Bootstrap.Mean([]).Value));
    }

    [Fact]
    public void A_paired_delta_removes_what_both_sides_share()
    {
        // B = A + 0.1 on the same problems: paired, the delta is exactly 0.1; unpaired, the problems' spread shows.
        double[] b = [.. Values.Select(v => v + 0.1)];
        var paired = Bootstrap.PairedDelta(Values, b);
        Assert.Equal(0.1, paired.Value, 12);
        Assert.Equal(0.1, paired.Low, 9);
        Assert.Equal(0.1, paired.High, 9);
        var unpaired = Bootstrap.UnpairedDelta(Values, b);
        Assert.Equal(0.1, unpaired.Value, 12);
        Assert.True(unpaired.High - unpaired.Low > 0.2);
    }

    [Fact]
    public void Uniform_seed_cells_are_one_over_the_keys_the_query_sees()
    {
        // Prompt of 20 tokens (BOT included): z3 sees 23 keys. Row 0 (BOT) and cells on or above the diagonal are structural.
        Assert.Equal(1.0 / 23, SeedEvidenceBuilder.UniformCell(3, 1, 20), 15);
        Assert.Equal(0, SeedEvidenceBuilder.UniformCell(0, 0, 20));
        Assert.Equal(0, SeedEvidenceBuilder.UniformCell(3, 3, 20));
        Assert.Equal("z3 → z3 (self)", SeedEvidenceBuilder.Really(3, 2));
        Assert.Equal("z5 → z1", SeedEvidenceBuilder.Really(5, 0));
        Assert.Equal("structural", SeedEvidenceBuilder.Really(2, 4));
    }

    [Fact]
    public void Verdicts_name_structural_cells_and_values_at_the_uniform_expectation()
    {
        Assert.Equal(Scored.Structural, Scored.VerdictOf(0, null));
        Assert.Equal(Scored.AtUniform, Scored.VerdictOf(0.1, new Interval(1.05, 1.04, 1.06))); // within ±0.10
        Assert.Equal(Scored.AtUniform, Scored.VerdictOf(0.1, new Interval(1.4, 0.9, 1.9)));   // interval holds 1
        Assert.Equal("above uniform", Scored.VerdictOf(0.1, new Interval(1.4, 1.2, 1.6)));
        Assert.Equal("below uniform", Scored.VerdictOf(0.1, new Interval(0.5, 0.4, 0.6)));
    }
}
