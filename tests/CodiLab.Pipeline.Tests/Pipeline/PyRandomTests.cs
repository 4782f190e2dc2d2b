using CodiLab.Pipeline.Data;
using Xunit;

namespace CodiLab.Tests.Pipeline;

/// <summary>The CPython random port against values CPython 3.11 prints (docs/experiment.md#sampling and the comments below).</summary>
public sealed class PyRandomTests
{
    [Fact]
    public void First_outputs_after_seed_42_match_CPython()
    {
        var rng = new PyRandom(42);

        Assert.Equal([2746317213u, 478163327u, 107420369u, 3184935163u, 1181241943u], Enumerable.Range(0, 5).Select(_ => rng.NextUInt32()));
    }

    [Fact]
    public void Seed_sample_draw_order_and_draw_count_match_SEED_md()
    {
        var rng = new PyRandom(42);

        var draw = rng.Sample(7473, 100);

        Assert.Equal([5238L, 912, 204, 6074, 2253, 2006, 1828, 1143, 6033, 839], draw.Take(10));
        // 100 accepted draws plus 4 rejections (values >= 7473) and no duplicate redraws.
        Assert.Equal(104, rng.Draws);
    }

    [Fact]
    public void Seed_sample_sorted_equals_the_published_indices()
    {
        long[] expected =
        [
            53, 204, 217, 244, 260, 355, 375, 569, 645, 653, 712, 759, 767, 792, 827, 837, 839, 912, 1022, 1143, 1273, 1307, 1332, 1575, 1628, 1716, 1763,
            1791, 1805, 1828, 1866, 1905, 1907, 2006, 2166, 2253, 2276, 2277, 2278, 2370, 2401, 2757, 2787, 2817, 2910, 2940, 2962, 2988, 3032, 3100,
            3112, 3113, 3436, 3456, 3462, 3679, 3714, 3763, 4139, 4392, 4464, 4467, 4522, 4597, 4729, 4827, 4837, 4931, 4945, 5066, 5149, 5207, 5238,
            5323, 5417, 5490, 5543, 5719, 5745, 5771, 5865, 5977, 6033, 6067, 6074, 6216, 6254, 6332, 6601, 6611, 6630, 6794, 6833, 6942, 7006, 7059,
            7098, 7121, 7253, 7308,
        ];

        Assert.Equal(expected, Gsm8k.SampleIndices(42, 7473, 100));
    }

    [Fact]
    public void Small_populations_use_the_pool_branch_like_CPython()
    {
        // random.seed(42); random.sample(range(10), 3), random.sample(range(30), 7) -> [1, 0, 4] [7, 29, 4, 23, 3, 21, 26]
        var rng = new PyRandom(42);

        Assert.Equal([1L, 0, 4], rng.Sample(10, 3));
        Assert.Equal([7L, 29, 4, 23, 3, 21, 26], rng.Sample(30, 7));
    }

    [Fact]
    public void Other_seeds_and_methods_match_CPython()
    {
        // random.seed(7); random.random(), random.randint(1, 6), random.randrange(1000000) -> 0.32383276483316237 2 414002
        var seven = new PyRandom(7);
        Assert.Equal(0.32383276483316237, seven.NextDouble());
        Assert.Equal(2, seven.RandInt(1, 6));
        Assert.Equal(414002, seven.RandRange(0, 1000000));

        // random.seed(2**40 + 5): a two-word key; getrandbits(32), getrandbits(40) -> 2166296868 294277936956
        var wide = new PyRandom((1UL << 40) + 5);
        Assert.Equal(2166296868UL, wide.GetRandBits(32));
        Assert.Equal(294277936956UL, wide.GetRandBits(40));

        // random.seed(42); random.choice('abcd'), random.getrandbits(64) -> a 13679192365072849617
        var rng = new PyRandom(42);
        Assert.Equal("a", rng.Choice(["a", "b", "c", "d"]));
        Assert.Equal(13679192365072849617UL, rng.GetRandBits(64));

        // random.seed(0); random.sample(range(7473), 5) -> [6917, 3155, 6209, 7292, 3445]
        Assert.Equal([6917L, 3155, 6209, 7292, 3445], new PyRandom(0).Sample(7473, 5));
    }

    [Fact]
    public void Sample_larger_than_population_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PyRandom(1).Sample(5, 6));
    }
}
