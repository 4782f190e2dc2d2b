using System.Text.Json.Serialization;

namespace CodiLab.Analysis;

/// <summary>
/// A score beside its uniform-causal expectation: what the same statistic would be if every query spread its
/// attention evenly over the keys it can see (1/T per key, T counted per problem from its real prompt length), the
/// ratio of the two with its interval, and a verdict.
/// </summary>
public sealed record Scored(
    [property: JsonPropertyName("metric")] string Metric,
    [property: JsonPropertyName("really")] string Really,
    [property: JsonPropertyName("measured")] Interval Measured,
    [property: JsonPropertyName("uniform")] double Uniform,
    [property: JsonPropertyName("ratio_to_uniform")] Interval? Ratio,
    [property: JsonPropertyName("verdict")] string Verdict)
{
    /// <summary>The verdict when the cell cannot be non-zero.</summary>
    public const string Structural = "structural (cannot be non-zero)";

    /// <summary>The verdict when the value is what uniform causal rows give.</summary>
    public const string AtUniform = "at uniform expectation";

    /// <summary>Relative band around 1 within which a ratio counts as the uniform expectation.</summary>
    public const double Band = 0.10;

    /// <summary>
    /// The verdict: structural when the expectation is 0; at uniform when the ratio's interval contains 1 or the ratio
    /// is within ±<see cref="Band"/> of 1; else above or below.
    /// </summary>
    public static string VerdictOf(double uniform, Interval? ratio) =>
        uniform == 0 || ratio is null ? Structural
        : ratio.Contains(1) || Math.Abs(ratio.Value - 1) <= Band ? AtUniform
        : ratio.Value > 1 ? "above uniform" : "below uniform";

    /// <summary>Builds a score from per-problem measured and uniform values.</summary>
    public static Scored Of(string metric, string really, IReadOnlyList<double> measured, IReadOnlyList<double> uniform)
    {
        var m = Bootstrap.Mean(measured);
        var u = uniform.Average();
        var ratio = u == 0 ? null : Bootstrap.Ratio(measured, uniform);
        return new Scored(metric, really, m, u, ratio, VerdictOf(u, ratio));
    }
}

/// <summary>One top head with where its maximum sits, the maximum's interval and the interval of its rank.</summary>
public sealed record RankedHead(
    [property: JsonPropertyName("layer")] int Layer,
    [property: JsonPropertyName("head")] int Head,
    [property: JsonPropertyName("argmax_cell")] string ArgmaxCell,
    [property: JsonPropertyName("really")] string Really,
    [property: JsonPropertyName("max")] Interval Max,
    [property: JsonPropertyName("rank")] Interval Rank);

/// <summary>The seed convention's scores with baselines and intervals.</summary>
public sealed record SeedEvidence(
    [property: JsonPropertyName("hub")] IReadOnlyList<Scored> Hub,
    [property: JsonPropertyName("hub_position")] int HubPosition,
    [property: JsonPropertyName("hub_position_stability")] double HubPositionStability,
    [property: JsonPropertyName("hub_ratio_to_one_sixth")] Interval HubRatioToOneSixth,
    [property: JsonPropertyName("hub_verdict")] string HubVerdict,
    [property: JsonPropertyName("sequential")] IReadOnlyList<Scored> Sequential,
    [property: JsonPropertyName("avg_sequential")] Scored AvgSequential,
    [property: JsonPropertyName("skip")] IReadOnlyList<Scored> Skip,
    [property: JsonPropertyName("avg_skip")] Scored AvgSkip,
    [property: JsonPropertyName("top_heads")] IReadOnlyList<RankedHead> TopHeads);

/// <summary>Hub argmax over a named set of keys.</summary>
public sealed record HubArgmax(
    [property: JsonPropertyName("keys")] string Keys,
    [property: JsonPropertyName("with_self")] string WithSelf,
    [property: JsonPropertyName("without_self")] string WithoutSelf);

/// <summary>The latent view's scores with baselines and intervals.</summary>
public sealed record LatentEvidence(
    [property: JsonPropertyName("mass")] IReadOnlyDictionary<string, IReadOnlyList<Scored>> Mass,
    [property: JsonPropertyName("question_per_token")] IReadOnlyDictionary<string, Interval> QuestionPerToken,
    [property: JsonPropertyName("alpha")] IReadOnlyList<Scored> Alpha,
    [property: JsonPropertyName("alpha_without_self")] IReadOnlyList<Scored> AlphaWithoutSelf,
    [property: JsonPropertyName("sequential")] IReadOnlyList<Scored> Sequential,
    [property: JsonPropertyName("avg_sequential")] Scored? AvgSequential,
    [property: JsonPropertyName("self")] IReadOnlyList<Scored> Self,
    [property: JsonPropertyName("skip")] IReadOnlyList<Scored> Skip,
    [property: JsonPropertyName("sink_rate_percent")] IReadOnlyDictionary<string, Interval> SinkRatePercent,
    [property: JsonPropertyName("top_heads")] IReadOnlyList<RankedHead> TopHeads);

/// <summary>A claim the seed made, the labelled number that tests it, and what this run says.</summary>
public sealed record Claim(
    [property: JsonPropertyName("claim")] string Text,
    [property: JsonPropertyName("test")] string Test,
    [property: JsonPropertyName("value")] Interval? Value,
    [property: JsonPropertyName("verdict")] string Verdict);

/// <summary>
/// <c>evidence.json</c> (analyze): every Phase 1 headline with its uniform-causal expectation and a bootstrap
/// interval over the successful problems, the seed's claims set against it; <see cref="Sink"/> sets raw against
/// value-weighted attention when the extraction recorded value norms (null for runs before it did).
/// </summary>
public sealed record Phase1Evidence(
    [property: JsonPropertyName("bootstrap")] BootstrapSettings Bootstrap,
    [property: JsonPropertyName("problems_used")] int ProblemsUsed,
    [property: JsonPropertyName("seed")] SeedEvidence Seed,
    [property: JsonPropertyName("latent")] LatentEvidence Latent,
    [property: JsonPropertyName("claims")] IReadOnlyList<Claim> Claims,
    [property: JsonPropertyName("problem_ids")] IReadOnlyList<string> ProblemIds,
    [property: JsonPropertyName("per_problem")] IReadOnlyDictionary<string, double[]> PerProblem,
    [property: JsonPropertyName("sink")] SinkEvidence? Sink = null)
{
    /// <summary>
    /// Builds the evidence of a run: seed scores from the raw [N, L, H, 6, 6] array, latent scores from the labelled
    /// view, the claims table, and the per-problem values of every score (successful problems, in <c>problem_ids</c>
    /// order) so that Compare can pair them.
    /// </summary>
    public static Phase1Evidence Build(float[] seedRaw, ExtractMetadata info, LatentAnalysis latent, SeedSummary seed, SeedStats stats,
        LatentConsistency latentConsistency, double sequentialThreshold, double skipThreshold)
    {
        var perProblem = new SortedDictionary<string, double[]>(StringComparer.Ordinal);
        var top = Math.Max(1, stats.TopHeads.Count);
        var s = SeedEvidenceBuilder.Build(seedRaw, info.Layers, info.Heads, info.PromptTokens,
            [.. stats.TopHeads.Select(h => (h.Layer, h.Head))], seed.Hub.HubPosition, perProblem);
        var l = LatentEvidenceBuilder.Build(latent, top, perProblem);
        var ids = info.ProblemRecords.Where((p, n) => !latent.Failed(n)).Select(p => p.Gsm8kId).ToList();
        return new Phase1Evidence(Analysis.Bootstrap.Settings(ids.Count), ids.Count, s, l,
            Analysis.Claims.Build(s, l, stats, latentConsistency, sequentialThreshold, skipThreshold), ids, perProblem);
    }
}
