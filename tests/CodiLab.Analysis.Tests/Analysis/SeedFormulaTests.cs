using CodiLab.Analysis;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>The seed's formulas (docs/experiment.md#seed-analysis) on hand-built matrices.</summary>
public sealed class SeedFormulaTests
{
    private const int S = 6;

    // One head whose strictly-lower cells are given; everything else is zero, as in the seed convention.
    private static float[] Head(Func<int, int, float> lower)
    {
        var m = new float[S * S];
        for (int i = 1; i < S; i++)
            for (int j = 0; j < i; j++) m[i * S + j] = lower(i, j);
        return m;
    }

    [Fact]
    public void Mean_and_population_std_over_problems()
    {
        // Two problems, one head: cell [1,0] is 0.2 then 0.6 -> mean 0.4, population std 0.2.
        var raw = Head((i, j) => i == 1 && j == 0 ? 0.2f : 0f).Concat(Head((i, j) => i == 1 && j == 0 ? 0.6f : 0f)).ToArray();
        var (mean, std) = SeedAnalysis.MeanStd(raw, 2);
        Assert.Equal(0.4f, mean[1 * S + 0], 6);
        Assert.Equal(0.2f, std[1 * S + 0], 6);
        Assert.Equal(0f, std[0]);
    }

    [Fact]
    public void Hub_flow_skip_follow_the_seed_definitions_and_identities()
    {
        // Two heads with known cells; hub[p] = mean over heads of column sums.
        var a = Head((i, j) => 0.1f * (j + 1));           // column j holds 0.1(j+1) in rows j+1..5
        var b = Head((i, j) => i == 5 ? 0.3f : 0.05f);
        // Analyze reads the aggregate's float16 file; the same rounding here (see Phase1Tests for the file itself).
        float[] rounded = [.. a.Concat(b).Select(v => (float)(Half)v)];
        var scores = SeedAnalysis.Analyze(rounded, 2);

        double Col(float[] m, int j) => Enumerable.Range(0, S).Sum(i => (double)m[i * S + j]);
        for (int p = 0; p < S; p++)
            Assert.Equal((Col(rounded[..36], p) + Col(rounded[36..], p)) / 2, scores.Hub[p], 6);
        Assert.Equal(0.0, scores.Hub[5]);                       // column 5 (z6) is never filled
        Assert.Equal(scores.Hub[4], scores.Sequential[4], 6);   // hub[4] = seq[5] = M[5,4]
        Assert.Equal(scores.Pos5To4, scores.Sequential[4], 6);
        Assert.Equal((rounded[1 * S + 0] + rounded[36 + 1 * S + 0]) / 2.0, scores.Sequential[0], 6);
        Assert.Equal((rounded[5 * S + 2] + rounded[36 + 5 * S + 2]) / 2.0, scores.Skip[2], 6);
        Assert.Equal(2, scores.HubPosition); // head a's column sums 0.1(j+1)(5-j) peak at j = 2

        var summary = SeedAnalysis.Summary("m", scores, 2.0, 0.3, 0.1);
        Assert.Equal(6 * scores.Hub[2], summary.Hub.HubRatio, 9);
        Assert.Equal(1.0 / 6, summary.Hub.UniformBaseline);
        Assert.Equal(scores.AvgSkip > 0.1, summary.Skip.HasSkipConnections);
    }

    [Fact]
    public void Top_heads_are_a_stable_sort_by_max()
    {
        var heads = new[] { new HeadStat(0, 0, 0.5, 0, 0), new HeadStat(0, 1, 0.7, 0, 0), new HeadStat(1, 0, 0.5, 0, 0), new HeadStat(1, 1, 0.7, 0, 0) };
        var top = SeedAnalysis.Top(heads, 3);
        Assert.Equal([(0, 1), (1, 1), (0, 0)], top.Select(h => (h.Layer, h.Head)));
    }

    [Fact]
    public void Canonical_json_sorts_keys_and_rounds()
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse("""{"b": 0.123456789, "a": [1.00000001, 2], "c": {"z": true, "y": null}}""")!;
        Assert.Equal("""{"a":[1,2],"b":0.1235,"c":{"y":null,"z":true}}""", CanonicalJson.Of(node)!.ToJsonString());
    }
}
