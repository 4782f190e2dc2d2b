using CodiLab.Analysis;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>
/// The latent view's formulas (docs/experiment.md#the-latent-view) on a hand-built array: N = 2 problems, L = 1,
/// H = 2, K = 3, prompt lengths 4 and 6. Every expected value below is written out from the table in
/// <see cref="Rows"/>, never computed by the code under test. The twin of <see cref="SeedFormulaTests"/>.
/// </summary>
public sealed class LatentFormulaTests
{
    private const int K = 3, Columns = K + 3, Rows = K + 1;
    private static readonly int[] Prompt = [4, 6];
    private const float X = float.NaN; // not visible

    // [problem][head] -> rows BOT, z1, z2, z3 over keys P0, question, BOT, z1, z2, z3. Each visible row sums to 1;
    // values are multiples of 1/16 so float32 holds them exactly.
    private static readonly float[][][][] Table =
    [
        [
            [[.5f, .25f, .25f, X, X, X], [.5f, .125f, .125f, .25f, X, X], [.25f, .125f, .125f, .25f, .25f, X], [.5f, .125f, .125f, .125f, .0625f, .0625f]],
            [[.25f, .5f, .25f, X, X, X], [.125f, .25f, .125f, .5f, X, X], [.125f, .125f, .25f, .25f, .25f, X], [0f, .25f, .25f, .25f, .125f, .125f]],
        ],
        [
            [[.75f, .125f, .125f, X, X, X], [.75f, .0625f, .0625f, .125f, X, X], [.5f, .125f, .125f, .125f, .125f, X], [.25f, .25f, .125f, .125f, .125f, .125f]],
            [[.25f, .25f, .5f, X, X, X], [.25f, .25f, .25f, .25f, X, X], [.125f, .125f, .125f, .5f, .125f, X], [.125f, .125f, .125f, .25f, .25f, .125f]],
        ],
    ];

    // Flattened [N, L=1, H=2, K+1, K+3], plus optional extra (failed, all-NaN) problems.
    private static float[] Raw(int failedProblems = 0)
    {
        var raw = Table.SelectMany(p => p.SelectMany(h => h.SelectMany(r => r))).ToList();
        raw.AddRange(Enumerable.Repeat(float.NaN, failedProblems * 2 * Rows * Columns));
        return [.. raw];
    }

    private static LatentAnalysis Analysis() => new(Raw(), 2, 1, 2, K, Prompt);

    [Fact]
    public void The_table_is_a_causal_attention_row_per_query()
    {
        foreach (var row in Table.SelectMany(p => p.SelectMany(h => h)))
            Assert.Equal(1.0, row.Where(v => !float.IsNaN(v)).Sum(v => (double)v), 12);
    }

    [Fact]
    public void Alpha_is_the_mean_over_the_latent_queries_that_can_see_the_key()
    {
        var a = Analysis();
        // z1 is seen by z1, z2, z3: 2 problems × 2 heads × 3 queries = 12 cells.
        Assert.Equal((.25 + .25 + .125 + .125 + .125 + .125 + .5 + .25 + .25 + .25 + .5 + .25) / 12, a.Alpha(LatentAnalysis.Z(1)), 6);
        // z2 by z2, z3 only: 8 cells.
        Assert.Equal((.25 + .0625 + .125 + .125 + .25 + .125 + .125 + .25) / 8, a.Alpha(LatentAnalysis.Z(2)), 6);
        // z3 by z3 alone: 4 cells, so its α is not diluted by the queries that cannot see it.
        Assert.Equal((.0625 + .125 + .125 + .125) / 4, a.Alpha(LatentAnalysis.Z(3)), 6);
        // P0 and BOT are seen by every latent query (the BOT query row is not a latent query and is left out).
        Assert.Equal((.5 + .25 + .5 + .75 + .5 + .25 + .125 + .125 + 0 + .25 + .125 + .125) / 12, a.Alpha(LatentAnalysis.P0), 6);
        Assert.Equal((.125 + .125 + .125 + .0625 + .125 + .125 + .125 + .25 + .25 + .25 + .125 + .125) / 12, a.Alpha(LatentAnalysis.Bot), 6);
        // One head: head 1 of layer 0, key z1.
        Assert.Equal((.5 + .25 + .25 + .25 + .5 + .25) / 6, a.Alpha(LatentAnalysis.Z(1), 0, 1), 6);
    }

    [Fact]
    public void Alpha_without_the_first_position_renormalises_each_row_after_dropping_P0()
    {
        // Per cell: A[z_a -> z1] / (1 - A[z_a -> P0]); head 1, problem 0, z3 has P0 = 0 and is unchanged.
        double[] terms =
        [
            .25 / .5, .25 / .75, .125 / .5,           // head 0, problem 0
            .125 / .25, .125 / .5, .125 / .75,        // head 0, problem 1
            .5 / .875, .25 / .875, .25 / 1,           // head 1, problem 0
            .25 / .75, .5 / .875, .25 / .875,         // head 1, problem 1
        ];
        Assert.Equal(terms.Average(), Analysis().AlphaWithoutFirst(LatentAnalysis.Z(1)), 6);
        // z3 is seen by z3 alone: P0 is .5, .25, 0 and .125 in its four rows.
        Assert.Equal((.0625 / .5 + .125 / .75 + .125 / 1 + .125 / .875) / 4, Analysis().AlphaWithoutFirst(LatentAnalysis.Z(3)), 6);
    }

    [Fact]
    public void Uniform_ratio_multiplies_by_the_keys_each_query_sees()
    {
        // z_a sees prompt + a keys: problem 0 (prompt 4) z1..z3 see 5, 6, 7; problem 1 (prompt 6) see 7, 8, 9.
        double[] plain =
        [
            .25 * 5, .25 * 6, .125 * 7,
            .125 * 7, .125 * 8, .125 * 9,
            .5 * 5, .25 * 6, .25 * 7,
            .25 * 7, .5 * 8, .25 * 9,
        ];
        var a = Analysis();
        Assert.Equal(plain.Average(), a.UniformRatio(LatentAnalysis.Z(1), withoutFirst: false), 6);
        // Without P0: the renormalised cell times one key fewer.
        double[] withoutFirst =
        [
            .25 / .5 * 4, .25 / .75 * 5, .125 / .5 * 6,
            .125 / .25 * 6, .125 / .5 * 7, .125 / .75 * 8,
            .5 / .875 * 4, .25 / .875 * 5, .25 / 1 * 6,
            .25 / .75 * 6, .5 / .875 * 7, .25 / .875 * 8,
        ];
        Assert.Equal(withoutFirst.Average(), a.UniformRatio(LatentAnalysis.Z(1), withoutFirst: true), 6);
        // P0 itself: every latent query sees it.
        double[] p0 = [.5 * 5, .25 * 6, .5 * 7, .75 * 7, .5 * 8, .25 * 9, .125 * 5, .125 * 6, 0 * 7, .25 * 7, .125 * 8, .125 * 9];
        Assert.Equal(p0.Average(), a.UniformRatio(LatentAnalysis.P0, withoutFirst: false), 6);
    }

    [Fact]
    public void Sink_rate_is_the_percent_of_heads_over_the_threshold_per_problem_averaged_over_problems()
    {
        // Per problem and head, α over the latent queries z1..z3:
        // P0: problem 0 head 0 (.5 + .25 + .5) / 3 = 0.417 > 0.3, head 1 0.083; problem 1 head 0 0.5, head 1 0.167 -> 50%, 50%.
        // BOT: 0.125, 0.208; 0.104, 0.167 -> 0%.
        // z1: 0.208, 0.333; 0.125, 0.333 -> 50%, 50%.
        var summary = LatentReport.Summary("m", 0, Analysis());
        Assert.Equal(new SinkRates(LatentReport.SinkDefinition, 0.3, 50, 0, 50), summary.SinkRate);
        // Where the definitions part: α(z2) over z2, z3 is 0.156, 0.1875 on problem 0 and 0.125, 0.1875 on problem 1. At 0.15
        // per problem: 100% and 50%, so 75%; the old rule (problem-averaged α 0.141 and 0.1875) would have said 50%.
        Assert.Equal(75, Analysis().SinkRate(LatentAnalysis.Z(2), 0.15), 9);
        Assert.Equal([100, 50], Analysis().SinkRatePerProblem(LatentAnalysis.Z(2), 0.15));
        var rows = LatentReport.Stats("m", Analysis(), 2).HeadRows;
        Assert.Equal(2.75 / 6, rows[0].AlphaP0, 6);
        Assert.Equal(1.125 / 6, rows[1].AlphaBot, 6);
        Assert.Equal(2.0 / 6, rows[1].AlphaZ1, 6);
    }

    [Fact]
    public void The_summary_reports_each_keys_hub_numbers_and_the_hub_among_latents()
    {
        var s = LatentReport.Summary("m", 0, Analysis());
        Assert.Equal(["P0", "BOT", "z1", "z2", "z3"], s.Hub.Keys);
        Assert.Equal(3.0 / 12, s.Hub["z1"].Alpha, 6);
        Assert.Null(s.Hub["P0"].AlphaWithoutFirstPosition);  // P0 has no "without P0" variant
        Assert.Null(s.Hub["P0"].UniformRatioWithoutFirstPosition);
        Assert.NotNull(s.Hub["BOT"].AlphaWithoutFirstPosition);
        // α: P0 3.5/12 = 0.292 > z1 0.25 > z2 0.164 > BOT 0.151 > z3 0.109. Without self: z1 (z2, z3 reading it) 0.234,
        // z2 (z3 alone) 0.141, z3 none; P0 and BOT are never their own latent query.
        Assert.Equal(
            [new HubArgmax("P0, BOT, z1..z3", "P0", "P0"), new HubArgmax("z1..z3 (z1..z2 without self)", "z1", "z1")], s.HubArgmax);
        Assert.Equal((.1875 + .25 + .125 + .375) / 4, Analysis().AlphaWithoutSelf(LatentAnalysis.Z(1)), 9);
        Assert.True(double.IsNaN(Analysis().AlphaWithoutSelf(LatentAnalysis.Z(3))));
    }

    [Fact]
    public void Receiver_kurtosis_is_the_excess_kurtosis_of_a_heads_alphas_over_keys()
    {
        // Fisher's excess kurtosis, population moments, by hand: [1, 0, 0, 0] has m2 = 3/16, m4 = 21/256 -> 21/9 - 3.
        Assert.Equal(21.0 / 9 - 3, HeadMetrics.ExcessKurtosis([1, 0, 0, 0]), 12);
        // A constant is defined as 0. Only one whose mean is exact: [0.2, 0.2, 0.2] gives -2 today (m2 is ~1e-34, not 0).
        Assert.Equal(0, HeadMetrics.ExcessKurtosis([0.25, 0.25, 0.25]));

        // Per problem, head 0's α over keys P0, BOT, z1, z2, z3 (each the mean over the queries that see the key).
        double[] problem0 = [(.5 + .25 + .5) / 3, (.125 + .125 + .125) / 3, (.25 + .25 + .125) / 3, (.25 + .0625) / 2, .0625];
        double[] problem1 = [(.75 + .5 + .25) / 3, (.0625 + .125 + .125) / 3, (.125 + .125 + .125) / 3, (.125 + .125) / 2, .125];
        var (k0, k1) = (Kurtosis(problem0), Kurtosis(problem1));
        var head0 = HeadMetrics.Latent(Raw(), 2, 1, 2, K)[0];
        Assert.Equal((k0 + k1) / 2, head0.Metrics["receiver_kurtosis"].Mean, 9);
        Assert.Equal(Math.Abs(k0 - k1) / 2, head0.Metrics["receiver_kurtosis"].Std, 9); // population std of two values
        Assert.Equal((problem0[2] + problem1[2]) / 2, head0.Metrics["hub_z1"].Mean, 9);
        Assert.Equal((problem0[0] + problem1[0]) / 2, head0.Metrics["hub_P0"].Mean, 9);
    }

    [Fact]
    public void A_failed_problem_changes_no_number()
    {
        // A failed problem is all NaN with prompt length 0; every formula skips it.
        var withFailure = new LatentAnalysis(Raw(failedProblems: 1), 3, 1, 2, K, [.. Prompt, 0]);
        var a = Analysis();
        foreach (var c in new[] { LatentAnalysis.P0, LatentAnalysis.Bot, LatentAnalysis.Z(1), LatentAnalysis.Z(3) })
        {
            Assert.Equal(a.Alpha(c), withFailure.Alpha(c), 12);
            Assert.Equal(a.UniformRatio(c, false), withFailure.UniformRatio(c, false), 12);
        }
        Assert.Equal(a.AlphaWithoutFirst(LatentAnalysis.Z(1)), withFailure.AlphaWithoutFirst(LatentAnalysis.Z(1)), 12);
        var (clean, failed) = (HeadMetrics.Latent(Raw(), 2, 1, 2, K)[1], HeadMetrics.Latent(Raw(1), 3, 1, 2, K)[1]);
        Assert.Equal(clean.Metrics["receiver_kurtosis"], failed.Metrics["receiver_kurtosis"]);
    }

    // The definition, written out: population moments about the mean, minus 3.
    private static double Kurtosis(double[] x)
    {
        var mean = x.Average();
        var m2 = x.Sum(v => (v - mean) * (v - mean)) / x.Length;
        var m4 = x.Sum(v => Math.Pow(v - mean, 4)) / x.Length;
        return m4 / (m2 * m2) - 3;
    }
}
