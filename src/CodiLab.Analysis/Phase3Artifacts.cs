using System.Text.Json;
using System.Text.Json.Serialization;

namespace CodiLab.Analysis;

/// <summary>One problem under one condition: the decoded answer, its grading, a failure apart, the gold log-probability.</summary>
/// <param name="Id">The problem's id (the same in every condition).</param>
/// <param name="Gold">The gold answer (after <c>####</c>).</param>
/// <param name="Prediction">The last number of the decoded answer (commas removed), or null when it holds none.</param>
/// <param name="Correct">The prediction equals the gold answer as a number.</param>
/// <param name="Failed">The loop itself failed (an error, or non-finite values): not a wrong answer, counted apart.</param>
/// <param name="Error">Why it failed.</param>
/// <param name="GoldLogProb">
/// Teacher-forced log-probability of the gold answer in the training format (<c>The answer is: {gold}</c> + EOS) after EOT;
/// null when the problem failed.
/// </param>
/// <param name="Answer">The decoded answer text.</param>
public sealed record ProblemOutcome(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("gold")] string Gold,
    [property: JsonPropertyName("prediction")] string? Prediction,
    [property: JsonPropertyName("correct")] bool Correct,
    [property: JsonPropertyName("failed")] bool Failed,
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("gold_logprob")] double? GoldLogProb,
    [property: JsonPropertyName("answer")] string? Answer);

/// <summary>
/// Every problem of one condition (or of the baseline), in problem order. How long it ran goes to the log only: a
/// timing here would make the entry's bytes, and so every downstream cache key, differ between identical runs.
/// </summary>
public sealed record ConditionRun(
    [property: JsonPropertyName("condition")] string Condition,
    [property: JsonPropertyName("problems")] IReadOnlyList<ProblemOutcome> Problems);

/// <summary>The measured baseline: the same problems, loop, parser and decode limit, no intervention.</summary>
public sealed record BaselineStats(
    [property: JsonPropertyName("n")] int N,
    [property: JsonPropertyName("correct")] int Correct,
    [property: JsonPropertyName("failed")] int Failed,
    [property: JsonPropertyName("accuracy")] Interval Accuracy,
    [property: JsonPropertyName("mean_gold_logprob")] double? MeanGoldLogProb,
    [property: JsonPropertyName("chance_rate")] double ChanceRate,
    [property: JsonPropertyName("chance_p")] double ChanceP,
    [property: JsonPropertyName("at_chance")] bool AtChance);

/// <summary>One condition against the baseline.</summary>
public sealed record ConditionStats(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("family")] string Family,
    [property: JsonPropertyName("kind")] ConditionKind Kind,
    [property: JsonPropertyName("control_of")] string? ControlOf,
    [property: JsonPropertyName("k")] int? K,
    [property: JsonPropertyName("n")] int N,
    [property: JsonPropertyName("correct")] int Correct,
    [property: JsonPropertyName("failed")] int Failed,
    [property: JsonPropertyName("accuracy")] Interval Accuracy,
    [property: JsonPropertyName("delta_accuracy")] Interval DeltaAccuracy,
    [property: JsonPropertyName("fixed")] int Fixed,
    [property: JsonPropertyName("broken")] int Broken,
    [property: JsonPropertyName("unchanged")] int Unchanged,
    [property: JsonPropertyName("mcnemar_p")] double McNemarP,
    [property: JsonPropertyName("q")] double Q,
    [property: JsonPropertyName("changed_share")] double ChangedShare,
    [property: JsonPropertyName("delta_gold_logprob")] Interval DeltaGoldLogProb);

/// <summary>One k of the top-k dose–response: the condition's Δ and its first random control's.</summary>
public sealed record DosePoint(
    [property: JsonPropertyName("k")] int K,
    [property: JsonPropertyName("condition")] string Condition,
    [property: JsonPropertyName("delta_accuracy")] Interval DeltaAccuracy,
    [property: JsonPropertyName("delta_gold_logprob")] Interval DeltaGoldLogProb,
    [property: JsonPropertyName("control_delta_accuracy")] Interval? ControlDeltaAccuracy,
    [property: JsonPropertyName("control_delta_gold_logprob")] Interval? ControlDeltaGoldLogProb);

/// <summary>A single head's ablation effect beside its Phase 2 metric (the head scan).</summary>
public sealed record HeadEffect(
    [property: JsonPropertyName("layer")] int Layer,
    [property: JsonPropertyName("head")] int Head,
    [property: JsonPropertyName("metric")] double Metric,
    [property: JsonPropertyName("delta_accuracy")] double DeltaAccuracy,
    [property: JsonPropertyName("delta_gold_logprob")] double DeltaGoldLogProb);

/// <summary>A residual patch's effect at (layer, latent position).</summary>
public sealed record PatchEffect(
    [property: JsonPropertyName("layer")] int Layer,
    [property: JsonPropertyName("latent")] int Latent,
    [property: JsonPropertyName("delta_accuracy")] double DeltaAccuracy,
    [property: JsonPropertyName("delta_gold_logprob")] double DeltaGoldLogProb,
    [property: JsonPropertyName("changed_share")] double ChangedShare);

/// <summary>One row of the "seed claim → causal test → result" table.</summary>
public sealed record ClaimRow(
    [property: JsonPropertyName("claim")] string Claim,
    [property: JsonPropertyName("test")] string Test,
    [property: JsonPropertyName("result")] string Result,
    [property: JsonPropertyName("verdict")] string Verdict);

/// <summary><c>phase3_summary.json</c>: the baseline, every condition with intervals and p/q-values, curves, claims, flags.</summary>
public sealed record Phase3Summary(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("problems")] int Problems,
    [property: JsonPropertyName("problem_set")] string ProblemSet,
    [property: JsonPropertyName("max_new_tokens")] int MaxNewTokens,
    [property: JsonPropertyName("head_metric")] string HeadMetric,
    [property: JsonPropertyName("bootstrap")] int Bootstrap,
    [property: JsonPropertyName("seed")] long Seed,
    [property: JsonPropertyName("read_from")] string ReadFrom,
    [property: JsonPropertyName("baseline")] BaselineStats Baseline,
    [property: JsonPropertyName("conditions")] IReadOnlyList<ConditionStats> Conditions,
    [property: JsonPropertyName("dose_response")] IReadOnlyList<DosePoint> DoseResponse,
    [property: JsonPropertyName("head_effects")] IReadOnlyList<HeadEffect> HeadEffects,
    [property: JsonPropertyName("spearman_delta_accuracy")] Interval? SpearmanAccuracy,
    [property: JsonPropertyName("spearman_delta_gold_logprob")] Interval? SpearmanLogProb,
    [property: JsonPropertyName("patching")] IReadOnlyList<PatchEffect> Patching,
    [property: JsonPropertyName("harness_errors")] IReadOnlyList<string> HarnessErrors,
    [property: JsonPropertyName("notes")] IReadOnlyList<string> Notes,
    [property: JsonPropertyName("claims")] IReadOnlyList<ClaimRow> Claims);

/// <summary>The canonical summary (what pins hold): the experiment's name and the summary.</summary>
public sealed record Phase3Canonical(
    [property: JsonPropertyName("experiment")] string Experiment, [property: JsonPropertyName("phase3")] Phase3Summary Summary);

/// <summary><c>phase3_conditions.json</c>: the resolved sweep and the donor of each problem.</summary>
public sealed record Phase3ConditionsFile(
    [property: JsonPropertyName("layers")] int Layers,
    [property: JsonPropertyName("heads")] int Heads,
    [property: JsonPropertyName("latents")] int Latents,
    [property: JsonPropertyName("head_metric")] string HeadMetric,
    [property: JsonPropertyName("ranking")] IReadOnlyList<HeadRef> Ranking,
    [property: JsonPropertyName("metric_values")] IReadOnlyList<double> MetricValues,
    [property: JsonPropertyName("donors")] IReadOnlyList<int> Donors,
    [property: JsonPropertyName("conditions")] IReadOnlyList<Phase3Condition> Conditions);

/// <summary>Condition kinds as snake_case words in JSON.</summary>
public sealed class ConditionKindConverter() : JsonStringEnumConverter<ConditionKind>(JsonNamingPolicy.SnakeCaseLower);
