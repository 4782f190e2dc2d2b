using CodiLab.Analysis;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>Phase 2 formulas (docs/experiment.md#phase-2-per-head-metrics) on hand-built matrices.</summary>
public sealed class Phase2FormulaTests
{
    // Heads of a 3-layer, 1-head model; each head's strictly-lower seed cells set by a function.
    private static float[] Heads(params Func<int, int, float>[] lower)
    {
        var m = new float[lower.Length * 36];
        for (int h = 0; h < lower.Length; h++)
            for (int i = 1; i < 6; i++)
                for (int j = 0; j < i; j++) m[h * 36 + i * 6 + j] = lower[h](i, j);
        return m;
    }

    [Fact]
    public void Seed_metrics_reproduce_the_artefacts_and_formulas()
    {
        var heads = HeadMetrics.Seed(Heads((i, j) => j == 0 ? 0.5f : 0f, (i, j) => i == 5 && j < 3 ? 0.3f : 0f, (i, j) => 0f), 3, 1);

        // flow = Σ_(j<i) / Σ_(j≤i) is 1 whenever the head has any attention (the diagonal is structurally zero), else 0.
        Assert.Equal([1.0, 1.0, 0.0], heads.Select(h => h.Flow));
        // hub = population variance of the column sums; head 0's sums are [2.5, 0, 0, 0, 0, 0].
        var sums = new[] { 2.5, 0, 0, 0, 0, 0 };
        Assert.Equal(sums.Average(c => (c - sums.Average()) * (c - sums.Average())), heads[0].Hub, 6);
        Assert.Equal(0, heads[0].HubPosition);
        Assert.Equal(0.3, heads[1].Skip, 6);
        Assert.Equal(["early", "middle", "late"], heads.Select(h => h.LayerType));
        // Min-max over heads: head 0 has the top hub, head 1 the top skip; composite = 0.4 F + 0.4 H + 0.2 S.
        Assert.Equal(1.0, heads[0].HubNorm, 6);
        Assert.Equal(1.0, heads[1].SkipNorm, 6);
        foreach (var h in heads) Assert.Equal(0.4 * h.FlowNorm + 0.4 * h.HubNorm + 0.2 * h.SkipNorm, h.Composite, 9);
        Assert.Equal("Multi-Purpose", heads[0].FunctionalType); // flow_norm 1 and hub_norm 1 both > 0.7
        Assert.Equal("Forward Flow", heads[2].FunctionalType);  // a full tie at 0: the first name wins (stable)
    }

    [Fact]
    public void With_every_head_attending_flow_norm_is_zero_and_composite_at_most_0_6()
    {
        var random = new Random(3);
        var lower = Enumerable.Range(0, 12).Select(_ => (Func<int, int, float>)((i, j) => (float)random.NextDouble() / 6)).ToArray();
        var heads = HeadMetrics.Seed(Heads(lower), 4, 3);
        Assert.All(heads, h => Assert.Equal(1.0, h.Flow));
        Assert.All(heads, h => Assert.Equal(0.0, h.FlowNorm));
        Assert.InRange(heads.Max(h => h.Composite), 0.4, 0.6 + 1e-9); // the top-hub head alone reaches 0.4
        Assert.DoesNotContain(heads, h => h.FunctionalType == "Forward Flow");
    }

    [Fact]
    public void Rankings_break_ties_in_layer_head_order()
    {
        var heads = HeadMetrics.Seed(Heads((i, j) => 0.1f, (i, j) => 0.1f, (i, j) => 0.1f), 3, 1);
        Assert.Equal([0, 1, 2], HeadMetrics.RankBy(heads, h => h.Flow).Select(h => h.Layer));
        var csv = HeadMetrics.SeedCsv(heads)["ranked_heads.csv"].Split('\n');
        Assert.Equal("layer,head,layer_type,flow_score,hub_score,skip_score,composite_score,functional_type,max_attention", csv[0]);
        Assert.StartsWith("0,0,early,1,", csv[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Excess_kurtosis_of_a_peaked_vector_is_positive_and_of_a_flat_one_zero()
    {
        Assert.Equal(0.0, HeadMetrics.ExcessKurtosis([0.2, 0.2, 0.2, 0.2]));
        Assert.True(HeadMetrics.ExcessKurtosis([0.9, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01]) > 3);
        Assert.Equal(-2.0, HeadMetrics.ExcessKurtosis([0, 1, 0, 1]), 9);
    }
}
