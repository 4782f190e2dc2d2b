namespace CodiLab.Analysis;

/// <summary>One head's ranking metric on the sample and on the full set (the scatter of the report).</summary>
public sealed record Phase4HeadPoint(string Metric, int Layer, int Head, double Sample, double Full);

/// <summary>Head-mean patterns, flattened row-major: the seed 6×6 and the latent (K+1)×(K+3), on the sample and the full set.</summary>
public sealed record Phase4Patterns(double[] SeedSample, double[] SeedFull, double[] LatentSample, double[] LatentFull);

/// <summary>
/// phase4_summary.json: the validation, the patterns and per-head points the figures draw, and every per-problem
/// headline value (for the distribution figure); <see cref="Canonical"/> is the part pins hold.
/// </summary>
public sealed record Phase4Summary(
    string Experiment, string Model, int Layers, int Heads, int Latents, int Problems, int SampleProblems, int Failures,
    Accuracy? Accuracy, Phase4Settings Settings, Phase4Validation Validation, Phase4Patterns Patterns,
    IReadOnlyList<Phase4HeadPoint> HeadPoints, IReadOnlyDictionary<string, double[]> PerProblem)
{
    /// <summary>The conclusions and criteria without the bulky arrays.</summary>
    public Phase4Canonical Canonical()
    {
        var v = Validation;
        var sub = v.Subsampling;
        return new Phase4Canonical(Experiment, Problems, SampleProblems, Failures, v.Sample, v.Full, v.Correlations, v.Overlaps,
            v.Headlines, new Phase4SubsamplingShares(sub.Subsets, sub.Size, sub.SameHub, sub.SameFlow, sub.SameSkip, sub.SameTopHeads,
                sub.SameAll, sub.Distributions.ToDictionary(d => d.Metric, d => d.Percentile)), v.HeadRanks, v.Criteria);
    }
}

/// <summary>The subsampling result without the per-subset values: shares, and the sample's percentile per statistic.</summary>
public sealed record Phase4SubsamplingShares(
    int Subsets, int Size, double SameHub, double SameFlow, double SameSkip, IReadOnlyDictionary<string, double> SameTopHeads,
    double SameAll, IReadOnlyDictionary<string, double> SamplePercentile);

/// <summary>phase4_summary.canonical.json.</summary>
public sealed record Phase4Canonical(
    string Experiment, int Problems, int SampleProblems, int Failures, Phase4Conclusions Sample, Phase4Conclusions Full,
    IReadOnlyList<Phase4Correlation> Correlations, IReadOnlyList<Phase4Overlap> Overlaps, IReadOnlyList<Phase4Headline> Headlines,
    Phase4SubsamplingShares Subsampling, IReadOnlyList<Phase4HeadRank> HeadRanks, IReadOnlyList<Phase4Criterion> Criteria);
