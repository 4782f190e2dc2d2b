using CodiLab.Analysis;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>The Phase 3 summary from hand-built runs: counts, p/q-values, chance, flags and claims written out by hand.</summary>
public sealed class Phase3AnalysisTests
{
    private static readonly string[] Golds = ["18", "3", "42", "7", "100", "5", "12", "9"];

    // correct: which problems are right; lp: gold log-probabilities; a failed problem has no prediction and no log-prob.
    private static ConditionRun Run(string name, bool[] correct, double[] lp, int failedAt = -1) => new(name,
    [
        .. Golds.Select((g, i) => i == failedAt
            ? new ProblemOutcome($"p{i}", g, null, false, true, "boom", null, null)
            : new ProblemOutcome($"p{i}", g, correct[i] ? g : "1000" + i, correct[i], false, null, lp[i], "The answer is: x")),
    ]);

    private static readonly bool[] Base = [true, true, true, true, true, true, false, false];
    private static readonly double[] BaseLp = [-1, -1, -1, -1, -1, -1, -3, -3];

    private static Phase3Condition Cond(string name, string family, string? controlOf = null, int? k = null) =>
        new(name, family, ConditionKind.EdgeBlock, "blocks", [], [], ControlOf: controlOf, K: k);

    private static Phase3Input Input(params (Phase3Condition C, ConditionRun R)[] runs) => new("m", "8 problems", 16, "sequential", 500, 42,
        new Phase3ConditionsFile(2, 4, 6, "sequential", [], [], [], [.. runs.Select(r => r.C)]), Run("baseline", Base, BaseLp), [.. runs.Select(r => r.R)]);

    [Fact]
    public void Condition_counts_p_and_q_values_and_the_log_prob_delta()
    {
        // edge-z1 breaks five of six correct problems (fixed 0, broken 5): McNemar p = 2·(1/32) = 0.0625; log-prob −2 each.
        // its control breaks one (p = 1); the failure in the control is counted apart and has no log-prob pair.
        var summary = Phase3Analysis.Summarize(Input(
            (Cond("edge-z1", "edges"), Run("edge-z1", [true, false, false, false, false, false, false, false], [-3, -3, -3, -3, -3, -3, -5, -5])),
            (Cond("edge-z1-random1", "edges", "edge-z1"), Run("edge-z1-random1", [true, true, true, true, true, false, false, false], BaseLp, failedAt: 5))));

        var z1 = summary.Conditions[0];
        Assert.Equal((8, 1, 0, 0, 5, 3), (z1.N, z1.Correct, z1.Failed, z1.Fixed, z1.Broken, z1.Unchanged));
        Assert.Equal(0.0625, z1.McNemarP, 12);
        Assert.Equal(-5.0 / 8, z1.DeltaAccuracy.Value, 12);
        Assert.Equal(-2, z1.DeltaGoldLogProb.Value, 12);
        Assert.Equal(-2, z1.DeltaGoldLogProb.Low, 12); // every pair differs by exactly −2
        Assert.Equal(5.0 / 8, z1.ChangedShare, 12);
        var control = summary.Conditions[1];
        Assert.Equal((1, 1), (control.Failed, control.Broken));
        Assert.Equal(1, control.McNemarP, 12); // 2·P[X ≤ 0], X ~ Binomial(1, ½)
        Assert.Equal(0, control.DeltaGoldLogProb.Value, 12); // seven finite pairs, all unchanged
        // BH over (0.0625, 1): q = (0.125, 1).
        Assert.Equal(0.125, z1.Q, 12);
        Assert.Equal(1, control.Q, 12);
        Assert.Equal(6, summary.Baseline.Correct);
        Assert.False(summary.Baseline.AtChance);
        Assert.Equal("accuracy", summary.ReadFrom);
        Assert.Empty(summary.HarnessErrors);
    }

    [Fact]
    public void A_baseline_at_chance_reads_effects_from_the_log_prob_and_names_it()
    {
        bool[] none = new bool[8];
        var cond = Run("edge-z1", none, [-4, -4, -4, -4, -4, -4, -6, -6]);
        var input = Input((Cond("edge-z1", "edges"), cond), (Cond("edge-z1-random1", "edges", "edge-z1"), Run("c", none, BaseLp) with
            { Condition = "edge-z1-random1" })) with { Baseline = Run("baseline", none, BaseLp) };

        var summary = Phase3Analysis.Summarize(input);

        Assert.True(summary.Baseline.AtChance);
        Assert.Equal(0, summary.Baseline.ChanceRate);
        Assert.Equal("gold_logprob", summary.ReadFrom);
        Assert.Contains(summary.Notes, n => n.Contains("no signal", StringComparison.Ordinal));
        Assert.Contains(summary.Notes, n => n.Contains("0% in the baseline and in every condition", StringComparison.Ordinal));
        Assert.Empty(summary.HarnessErrors); // uniform 0% at chance is a note, not a harness error
        var hub = summary.Claims[0];
        Assert.Equal("supported", hub.Verdict); // −3 log-prob everywhere, interval [−3, −3] below the control's [0, 0]
        Assert.Contains("Δ log-prob -3", hub.Result, StringComparison.Ordinal);
        Assert.Equal("not tested", summary.Claims[4].Verdict);
    }

    [Fact]
    public void Every_condition_at_zero_while_the_baseline_is_not_is_a_harness_error()
    {
        bool[] none = new bool[8];
        var summary = Phase3Analysis.Summarize(Input(
            (Cond("head-L0H0", "head_scan") with { Heads = [new HeadRef(0, 0)] }, Run("head-L0H0", none, BaseLp)),
            (Cond("head-L0H1", "head_scan") with { Heads = [new HeadRef(0, 1)] }, Run("head-L0H1", none, BaseLp))));

        Assert.Contains(summary.HarnessErrors, e => e.Contains("broken harness", StringComparison.Ordinal));
    }

    [Fact]
    public void Uniform_hundred_percent_and_all_failed_are_harness_errors()
    {
        bool[] all = [.. Enumerable.Repeat(true, 8)];
        var uniform = Phase3Analysis.Summarize(Input((Cond("a", "edges"), Run("a", all, BaseLp))) with { Baseline = Run("baseline", all, BaseLp) });
        Assert.Contains(uniform.HarnessErrors, e => e.Contains("uniform 100%", StringComparison.Ordinal));

        var baseline = Phase3Analysis.Baseline(Run("baseline", Base, BaseLp));
        var failed = new ConditionStats("x", "edges", ConditionKind.EdgeBlock, null, null, 8, 0, 8, new Interval(0, 0, 0.3),
            new Interval(-0.75, -1, -0.5), 0, 6, 2, 0.03, 0.03, 1, new Interval(double.NaN, double.NaN, double.NaN));
        Assert.Contains(Phase3Analysis.HarnessErrors(baseline, [failed]), e => e.Contains("every problem failed under x", StringComparison.Ordinal));
    }

    [Fact]
    public void The_chance_rate_counts_predictions_matching_other_problems_golds()
    {
        // predictions: p0 → "3" (gold of p1), p1 → "3" (its own, not counted), p2 → "18" (gold of p0), others match nothing.
        ProblemOutcome P(int i, string gold, string? pred) => new($"p{i}", gold, pred, pred == gold, false, null, -1, null);
        var problems = new[] { P(0, "18", "3"), P(1, "3", "3"), P(2, "42", "18"), P(3, "7", null) };
        Assert.Equal(2.0 / 12, Phase3Analysis.ChanceRate(problems), 12);
    }

    [Fact]
    public void Dose_response_and_head_scan_spearman()
    {
        var heads = new[] { new HeadRef(0, 0), new HeadRef(0, 1), new HeadRef(1, 0) };
        var plan = new Phase3ConditionsFile(2, 4, 6, "sequential", heads, [0.9, 0.5, 0.1], [],
        [
            new("top1-sequential", "top_heads", ConditionKind.HeadAblation, "", [heads[0]], [], K: 1),
            new("top1-sequential-random1", "top_heads", ConditionKind.HeadAblation, "", [heads[2]], [], ControlOf: "top1-sequential", K: 1),
            new("head-L0H0", "head_scan", ConditionKind.HeadAblation, "", [heads[0]], []),
            new("head-L0H1", "head_scan", ConditionKind.HeadAblation, "", [heads[1]], []),
            new("head-L1H0", "head_scan", ConditionKind.HeadAblation, "", [heads[2]], []),
        ]);
        double[] Shift(double d) => [.. BaseLp.Select(v => v + d)];
        var runs = new[] { Run("top1-sequential", Base, Shift(-2)), Run("top1-sequential-random1", Base, BaseLp),
            Run("head-L0H0", Base, Shift(-2)), Run("head-L0H1", Base, Shift(-1)), Run("head-L1H0", Base, Shift(0)) };
        var summary = Phase3Analysis.Summarize(new Phase3Input("m", "8", 16, "sequential", 300, 1, plan, Run("baseline", Base, BaseLp), runs));

        var dose = Assert.Single(summary.DoseResponse);
        Assert.Equal((1, -2.0, 0.0), (dose.K, dose.DeltaGoldLogProb.Value, dose.ControlDeltaGoldLogProb!.Value));
        Assert.Equal([-2.0, -1, 0], summary.HeadEffects.Select(h => h.DeltaGoldLogProb));
        Assert.Equal(-1, summary.SpearmanLogProb!.Value, 12); // higher metric, larger drop: perfectly monotone
        Assert.Null(summary.SpearmanAccuracy is { } s && double.IsNaN(s.Value) ? null : summary.SpearmanAccuracy); // Δacc constant
    }
}
