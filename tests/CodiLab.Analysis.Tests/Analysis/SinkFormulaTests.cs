using CodiLab.Analysis;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>
/// Value weighting, the sink-or-hub rule and the per-layer sink rate (docs/experiment.md#sink-or-hub) on hand-built
/// rows; expected values are written out by hand, never computed by the code under test.
/// </summary>
public sealed class SinkFormulaTests
{
    [Fact]
    public void A_row_is_weighted_by_value_norms_and_renormalised()
    {
        // A = (.5, .25, .25), norms (.2, 1, 2): products (.1, .25, .5), sum .85.
        var w = SinkAnalysis.Weight([.5f, .25f, .25f], [.2f, 1f, 2f, 9f]); // a longer norm list: the row's keys only
        Assert.Equal([.1 / .85, .25 / .85, .5 / .85], w.Select(v => (double)v), new Tolerance(1e-6));
        Assert.Equal([0f, 0f], SinkAnalysis.Weight([.5f, .5f], [0f, 0f])); // nothing written: no division by zero
        Assert.Throws<ArgumentException>(() => SinkAnalysis.Weight([.5f, .5f], [1f]));
    }

    [Theory]
    [InlineData(8.0, 0.1, SinkAnalysis.Sink)]
    [InlineData(8.0, 0.9, SinkAnalysis.Hub)]
    [InlineData(2.0, 0.49, SinkAnalysis.Sink)]
    [InlineData(1.9, 0.1, SinkAnalysis.Neither)]
    [InlineData(double.NaN, 0.1, SinkAnalysis.Neither)]
    public void The_verdict_needs_high_raw_attention_then_reads_what_survives_weighting(double toUniform, double retained, string verdict) =>
        Assert.Equal(verdict, SinkAnalysis.VerdictOf(toUniform, retained));

    [Fact]
    public void The_sink_rate_counts_each_problem_then_averages_per_layer()
    {
        // N = 4, L = 2, H = 2, K = 1, prompt 5 (keys P0, 3 question tokens, BOT). Only z1 reads P0 for α (the one latent
        // query). Layer 0 head 0 parks 0.8 on P0 in problem 0 only; layer 1 head 1 parks 0.5 in every problem.
        const int n = 4, l = 2, h = 2, k = 1, rows = k + 1, cols = k + 3;
        var raw = new float[n * l * h * rows * cols];
        for (int p = 0; p < n; p++)
            for (int lh = 0; lh < l * h; lh++)
            {
                var p0 = lh == 0 && p == 0 ? .8f : lh == 3 ? .5f : .1f;
                var at = ((p * l * h + lh) * rows + 1) * cols;
                (raw[at], raw[at + 1], raw[at + 2], raw[at + 3]) = (p0, (1 - p0) / 2, (1 - p0) / 4, (1 - p0) / 4);
                var bot = ((p * l * h + lh) * rows) * cols;
                (raw[bot], raw[bot + 1], raw[bot + 2], raw[bot + 3]) = (.2f, .6f, .2f, float.NaN);
            }
        var a = new LatentAnalysis(raw, n, l, h, k, [5, 5, 5, 5]);
        var sink = SinkAnalysis.Build(a, a);
        var p0Rates = sink.ByLayer.Single(r => r.Key == "P0");
        // Layer 0: 50% of its heads on problem 0, 0% on the other three → 12.5%; layer 1: 50% on every problem.
        Assert.Equal([12.5, 50.0], p0Rates.Raw, new Tolerance(1e-9));
        Assert.Equal(p0Rates.Raw, p0Rates.Weighted); // the same array both ways
        // All layers: 2 of 4 heads on problem 0, 1 of 4 on the rest → (50 + 25 + 25 + 25) / 4.
        Assert.Equal(31.25, p0Rates.RawAllLayers.Value, 9);
        Assert.Equal(["P0", "BOT", "z1"], sink.ByLayer.Select(r => r.Key));
        Assert.Equal(["P0", "BOT", "z1"], sink.Keys.Select(r => r.Key));
        Assert.All(sink.Keys, key => Assert.Equal(1.0, key.Retained!.Value, 9)); // identical views keep everything
    }

    private sealed class Tolerance(double eps) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= eps;

        public int GetHashCode(double obj) => 0;
    }
}
