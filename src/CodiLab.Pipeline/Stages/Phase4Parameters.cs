using CodiLab.Specs;

namespace CodiLab.Pipeline.Stages;

/// <summary>p4-sample: the Phase 1 sample's draw, and how many problems Phase 4 takes around it.</summary>
public sealed record Phase4SampleParameters(
    [property: SpecField("seed")] long Seed,
    [property: SpecField("dataset.source")] DatasetSource Source,
    [property: SpecField("dataset.split")] DatasetSplit Split,
    [property: SpecField("dataset.size")] int Size,
    [property: SpecField("dataset.sample")] SampleSize Sample,
    [property: SpecField("phase4.sample")] SampleSize Full)
{
    /// <summary>From a spec.</summary>
    public static Phase4SampleParameters From(ExperimentSpec s) =>
        new(s.Seed, s.Dataset.Source, s.Dataset.Split, s.Dataset.Size, s.Dataset.Sample, s.Phase4.Sample);
}

/// <summary>p4-analyze: the thresholds the conclusions use, the subsampling and bootstrap counts, and the name.</summary>
public sealed record Phase4AnalyzeParameters(
    [property: SpecField("name")] string Name,
    [property: SpecField("seed")] long Seed,
    [property: SpecField("analysis.hub_ratio_threshold")] double HubRatioThreshold,
    [property: SpecField("analysis.sequential_threshold")] double SequentialThreshold,
    [property: SpecField("analysis.skip_threshold")] double SkipThreshold,
    [property: SpecField("phase4.subsets")] int Subsets,
    [property: SpecField("phase4.bootstrap")] int Bootstrap)
{
    /// <summary>From a spec.</summary>
    public static Phase4AnalyzeParameters From(ExperimentSpec s) =>
        new(s.Name, s.Seed, s.Analysis.HubRatioThreshold, s.Analysis.SequentialThreshold, s.Analysis.SkipThreshold,
            s.Phase4.Subsets, s.Phase4.Bootstrap);
}

/// <summary>p4-report: the name it is titled with.</summary>
public sealed record Phase4ReportParameters([property: SpecField("name")] string Name)
{
    /// <summary>From a spec.</summary>
    public static Phase4ReportParameters From(ExperimentSpec s) => new(s.Name);
}
