using System.Globalization;

namespace CodiLab.Analysis;

/// <summary>What the Phase 3 summary is built from.</summary>
/// <param name="Model">The model's name.</param>
/// <param name="ProblemSet">Where the problems come from, in words (split, count, ids).</param>
/// <param name="MaxNewTokens">The decode limit.</param>
/// <param name="HeadMetric">The metric that ranks heads.</param>
/// <param name="Bootstrap">Resamples per interval.</param>
/// <param name="Seed">The seed of every resample.</param>
/// <param name="Plan">The resolved sweep.</param>
/// <param name="Baseline">The baseline run.</param>
/// <param name="Runs">One run per condition of the plan, in plan order.</param>
public sealed record Phase3Input(
    string Model, string ProblemSet, int MaxNewTokens, string HeadMetric, int Bootstrap, long Seed,
    Phase3ConditionsFile Plan, ConditionRun Baseline, IReadOnlyList<ConditionRun> Runs);

/// <summary>
/// Phase 3's numbers (docs/experiment.md#phase-3-causal-interventions): per condition, accuracy with a Wilson interval,
/// Δ accuracy with a paired bootstrap interval, fixed/broken/unchanged with an exact McNemar p and a Benjamini–Hochberg q
/// across the sweep, Δ gold log-probability with its interval, the share of answers changed; the dose–response, the head
/// scan's Spearman, the patching grid; harness-error flags and the seed-claim table.
/// </summary>
public static class Phase3Analysis
{
    /// <summary>The significance level of every verdict.</summary>
    public const double Alpha = 0.05;

    /// <summary>Builds the summary.</summary>
    public static Phase3Summary Summarize(Phase3Input input)
    {
        var baseline = Baseline(input.Baseline);
        var byName = input.Runs.ToDictionary(r => r.Condition, StringComparer.Ordinal);
        var stats = input.Plan.Conditions.Select((c, i) => Stats(c, input.Baseline, byName[c.Name], input.Bootstrap, input.Seed + i)).ToList();
        var q = Phase3Statistics.BenjaminiHochberg([.. stats.Select(s => s.McNemarP)]);
        stats = [.. stats.Select((s, i) => s with { Q = q[i] })];
        var readFrom = baseline.AtChance ? "gold_logprob" : "accuracy";
        var heads = HeadEffects(input.Plan, stats);
        var rhoAcc = Spearman(heads, h => h.DeltaAccuracy, input);
        var rhoLp = Spearman(heads, h => h.DeltaGoldLogProb, input);
        var patching = stats.Where(s => s.Kind == ConditionKind.ResidualPatch)
            .Select(s => (s, c: input.Plan.Conditions.First(c => c.Name == s.Name)))
            .Select(t => new PatchEffect(t.c.Layer!.Value, t.c.Latent!.Value, t.s.DeltaAccuracy.Value, t.s.DeltaGoldLogProb.Value,
                t.s.ChangedShare)).ToList();
        return new Phase3Summary(input.Model, baseline.N, input.ProblemSet, input.MaxNewTokens, input.HeadMetric, input.Bootstrap, input.Seed,
            readFrom, baseline, stats, Dose(stats), heads, rhoAcc, rhoLp, patching, HarnessErrors(baseline, stats),
            Notes(baseline, stats), Phase3Claims.Build(baseline, stats));
    }

    /// <summary>
    /// The baseline's numbers. The chance rate is measured, not assumed: the share of (problem i, problem j ≠ i) pairs whose
    /// prediction for i equals the gold answer of j. The baseline is at chance when its correct count is not above that rate
    /// (exact binomial, one-sided, p ≥ 0.05); then accuracy carries no signal and effects are read from the gold log-prob.
    /// </summary>
    public static BaselineStats Baseline(ConditionRun run)
    {
        var p = run.Problems;
        var correct = p.Count(x => x.Correct);
        var chance = ChanceRate(p);
        var chanceP = Phase3Statistics.BinomialAtLeast(correct, p.Count, chance);
        var lps = p.Where(x => x.GoldLogProb is { } v && double.IsFinite(v)).Select(x => x.GoldLogProb!.Value).ToList();
        return new BaselineStats(p.Count, correct, p.Count(x => x.Failed), Phase3Statistics.Wilson(correct, p.Count),
            lps.Count > 0 ? lps.Average() : null, chance, chanceP, chanceP >= Alpha);
    }

    /// <summary>The measured chance rate of a run's predictions (see <see cref="Baseline"/>).</summary>
    public static double ChanceRate(IReadOnlyList<ProblemOutcome> problems)
    {
        if (problems.Count < 2) return 0;
        var golds = problems.GroupBy(x => Number(x.Gold)).ToDictionary(g => g.Key, g => g.Count());
        long hits = 0;
        foreach (var x in problems)
        {
            if (x.Prediction is null) continue;
            var n = golds.GetValueOrDefault(Number(x.Prediction));
            hits += n - (Number(x.Prediction) == Number(x.Gold) ? 1 : 0);
        }
        return hits / ((double)problems.Count * (problems.Count - 1));
    }

    private static string Number(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d.ToString("R", CultureInfo.InvariantCulture)
            : text;

    /// <summary>One condition against the baseline, paired problem by problem (ids must match in order).</summary>
    public static ConditionStats Stats(Phase3Condition c, ConditionRun baseline, ConditionRun run, int bootstrap, long seed)
    {
        var (b, r) = (baseline.Problems, run.Problems);
        if (b.Count != r.Count || b.Where((x, i) => x.Id != r[i].Id).Any())
            throw new InvalidOperationException($"condition {c.Name} ran other problems than the baseline");
        bool[] bc = [.. b.Select(x => x.Correct)], rc = [.. r.Select(x => x.Correct)];
        var paired = Phase3Statistics.Paired(bc, rc);
        var dLp = r.Select((x, i) => x.GoldLogProb is { } v && b[i].GoldLogProb is { } w ? v - w : double.NaN).ToArray();
        var changed = r.Count == 0 ? 0 : r.Where((x, i) => x.Prediction != b[i].Prediction || x.Failed != b[i].Failed).Count() / (double)r.Count;
        var correct = rc.Count(x => x);
        return new ConditionStats(c.Name, c.Family, c.Kind, c.ControlOf, c.K, r.Count, correct, r.Count(x => x.Failed),
            Phase3Statistics.Wilson(correct, r.Count), Phase3Statistics.DeltaAccuracy(bc, rc, bootstrap, seed),
            paired.Fixed, paired.Broken, paired.Unchanged, Phase3Statistics.McNemarExact(paired.Fixed, paired.Broken), double.NaN,
            changed, Phase3Statistics.PairedBootstrapMean(dLp, bootstrap, seed + 1_000_003));
    }

    private static List<DosePoint> Dose(List<ConditionStats> stats) =>
    [
        .. stats.Where(s => s.Family == "top_heads" && s.ControlOf is null && s.K is not null).OrderBy(s => s.K).Select(s =>
        {
            var control = stats.FirstOrDefault(c => c.ControlOf == s.Name);
            return new DosePoint(s.K!.Value, s.Name, s.DeltaAccuracy, s.DeltaGoldLogProb, control?.DeltaAccuracy, control?.DeltaGoldLogProb);
        }),
    ];

    private static List<HeadEffect> HeadEffects(Phase3ConditionsFile plan, List<ConditionStats> stats)
    {
        var metric = plan.Ranking.Select((h, i) => (h, v: plan.MetricValues[i])).ToDictionary(t => t.h, t => t.v);
        return
        [
            .. plan.Conditions.Zip(stats).Where(t => t.First.Family == "head_scan" && t.First.Heads.Count == 1).Select(t => new HeadEffect(
                t.First.Heads[0].Layer, t.First.Heads[0].Head, metric.GetValueOrDefault(t.First.Heads[0], double.NaN),
                t.Second.DeltaAccuracy.Value, t.Second.DeltaGoldLogProb.Value)),
        ];
    }

    private static Interval? Spearman(List<HeadEffect> heads, Func<HeadEffect, double> effect, Phase3Input input) =>
        heads.Count < 3 ? null
            : Phase3Statistics.SpearmanWithInterval([.. heads.Select(h => h.Metric)], [.. heads.Select(effect)], input.Bootstrap, input.Seed);

    /// <summary>
    /// Harness errors, never findings: a uniform 100% (every condition and the baseline), every condition at 0% while the
    /// baseline is not, or a condition in which every problem failed.
    /// </summary>
    public static List<string> HarnessErrors(BaselineStats baseline, IReadOnlyList<ConditionStats> stats)
    {
        var errors = new List<string>();
        if (baseline.N > 0 && baseline.Correct == baseline.N && stats.All(s => s.Correct == s.N))
            errors.Add("every problem is correct in the baseline and in every condition (uniform 100%): the grading or the "
                + "interventions are not doing what they say; no condition's effect can be read.");
        if (baseline.Correct > 0 && stats.Count > 1 && stats.All(s => s.Correct == 0))
            errors.Add($"every condition scores 0% while the baseline scores {baseline.Correct}/{baseline.N}, random controls "
                + "included: this is the signature of a broken harness (the seed's '0% for every head'), not of the heads.");
        errors.AddRange(stats.Where(s => s.N > 0 && s.Failed == s.N).Select(s =>
            $"every problem failed under {s.Name}: the loop broke, the condition measured nothing."));
        if (baseline.N > 0 && baseline.Failed == baseline.N) errors.Add("every problem failed in the baseline run.");
        return errors;
    }

    private static List<string> Notes(BaselineStats baseline, IReadOnlyList<ConditionStats> stats)
    {
        var notes = new List<string>();
        if (baseline.AtChance)
            notes.Add($"The baseline ({baseline.Correct}/{baseline.N}) is not above the measured chance rate "
                + $"({baseline.ChanceRate.ToString("0.####", CultureInfo.InvariantCulture)}, one-sided binomial p = "
                + $"{baseline.ChanceP.ToString("0.###", CultureInfo.InvariantCulture)}): accuracy carries no signal here, so every "
                + "effect is read from the continuous metric (Δ gold log-probability) and the share of answers changed.");
        if (stats.Count > 0 && baseline.Correct == 0 && stats.All(s => s.Correct == 0))
            notes.Add("Accuracy is 0% in the baseline and in every condition: expected for an untrained model, a harness error for a "
                + "real checkpoint (check the parser, EOS ids and the decode limit with `codilab trace`).");
        if (baseline.Failed > 0)
            notes.Add($"{baseline.Failed} baseline problems failed; failures count as not correct and are listed apart.");
        return notes;
    }
}
