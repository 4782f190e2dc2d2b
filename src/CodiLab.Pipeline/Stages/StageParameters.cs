using CodiLab.Pipeline.Engine;
using CodiLab.Specs;

namespace CodiLab.Pipeline.Stages;

/// <summary>sample: which problems, drawn how.</summary>
public sealed record SampleParameters(
    [property: SpecField("seed")] long Seed,
    [property: SpecField("dataset.source")] DatasetSource Source,
    [property: SpecField("dataset.split")] DatasetSplit Split,
    [property: SpecField("dataset.size")] int Size,
    [property: SpecField("dataset.sample")] SampleSize Sample)
{
    /// <summary>From a spec.</summary>
    public static SampleParameters From(ExperimentSpec s) =>
        new(s.Seed, s.Dataset.Source, s.Dataset.Split, s.Dataset.Size, s.Dataset.Sample);
}

/// <summary>model: the generated tiny CODI model.</summary>
public sealed record ModelParameters(
    [property: SpecField("seed")] long Seed,
    [property: SpecField("model.arch")] Arch Arch,
    [property: SpecField("model.lora.r")] int LoraR,
    [property: SpecField("model.lora.alpha")] double LoraAlpha,
    [property: SpecField("model.num_latent")] int NumLatent)
{
    /// <summary>From a spec.</summary>
    public static ModelParameters From(ExperimentSpec s) =>
        new(s.Seed, s.Model.Arch, s.Model.Lora.R, s.Model.Lora.Alpha, s.Model.NumLatent);
}

/// <summary>extract: the model as loaded, the loop's settings, and what names the model in the metadata.</summary>
public sealed record ExtractParameters(
    [property: SpecField("seed")] long Seed,
    [property: SpecField("model.arch")] Arch Arch,
    [property: SpecField("model.source")] ModelSource Source,
    [property: SpecField("model.path")] string? Path,
    [property: SpecField("model.lora.r")] int LoraR,
    [property: SpecField("model.lora.alpha")] double LoraAlpha,
    [property: SpecField("model.num_latent")] int NumLatent,
    [property: SpecField("model.dtype")] ComputeDType DType,
    [property: SpecField("model.device")] DeviceChoice Device,
    [property: SpecField("extraction.batch_size")] BatchSize BatchSize,
    [property: SpecField("extraction.max_new_tokens")] int MaxNewTokens,
    [property: SpecField("extraction.max_failures")] double MaxFailures)
{
    /// <summary>From a spec.</summary>
    public static ExtractParameters From(ExperimentSpec s) =>
        new(s.Seed, s.Model.Arch, s.Model.Source, s.Model.Path, s.Model.Lora.R, s.Model.Lora.Alpha,
            s.Model.NumLatent, s.Model.DType, s.Model.Device, s.Extraction.BatchSize, s.Extraction.MaxNewTokens, s.Extraction.MaxFailures);

    /// <summary>The model section these parameters load (paths are resolved by the external inputs, not here).</summary>
    public ModelSection Model => new(Arch, Source, Path, null, null, new LoraSection(LoraR, LoraAlpha), NumLatent, DType, Device);
}

/// <summary>aggregate: how many top heads to list.</summary>
public sealed record AggregateParameters([property: SpecField("analysis.top_heads")] int TopHeads)
{
    /// <summary>From a spec.</summary>
    public static AggregateParameters From(ExperimentSpec s) => new(s.Analysis.TopHeads);
}

/// <summary>analyze: the thresholds of the seed's verdicts, and the name the canonical summary carries.</summary>
public sealed record AnalyzeParameters(
    [property: SpecField("name")] string Name,
    [property: SpecField("analysis.hub_ratio_threshold")] double HubRatioThreshold,
    [property: SpecField("analysis.sequential_threshold")] double SequentialThreshold,
    [property: SpecField("analysis.skip_threshold")] double SkipThreshold)
{
    /// <summary>From a spec.</summary>
    public static AnalyzeParameters From(ExperimentSpec s) =>
        new(s.Name, s.Analysis.HubRatioThreshold, s.Analysis.SequentialThreshold, s.Analysis.SkipThreshold);
}

/// <summary>figures: the name in every title, and the reference lines drawn.</summary>
public sealed record FiguresParameters(
    [property: SpecField("name")] string Name,
    [property: SpecField("analysis.top_heads")] int TopHeads,
    [property: SpecField("analysis.sequential_threshold")] double SequentialThreshold,
    [property: SpecField("analysis.skip_threshold")] double SkipThreshold)
{
    /// <summary>From a spec.</summary>
    public static FiguresParameters From(ExperimentSpec s) =>
        new(s.Name, s.Analysis.TopHeads, s.Analysis.SequentialThreshold, s.Analysis.SkipThreshold);
}

/// <summary>report: the whole resolved spec (the report prints it), typed for what the report says in words.</summary>
/// <param name="Spec">Every field, resolved: all of them are the key's field material.</param>
/// <param name="Name">The experiment.</param>
/// <param name="Reference">How the spec was named (printed, so part of the key).</param>
/// <param name="Description">Its description.</param>
/// <param name="Seed">The seed.</param>
/// <param name="Model">The model section.</param>
/// <param name="Dataset">The dataset section.</param>
/// <param name="Extraction">The extraction section.</param>
/// <param name="Analysis">The analysis section.</param>
/// <param name="Origins">
/// A digest of where each written field came from (the report's "from" column), so moving a line reruns the report.
/// </param>
public sealed record ReportParameters(
    IReadOnlyList<ResolvedField> Spec,
    string Name,
    [property: SpecField("spec")] string Reference,
    [property: SpecField("spec.origins")] string Origins,
    string Description, long Seed, ModelSection Model, DatasetSection Dataset, ExtractionSection Extraction, AnalysisSection Analysis)
{
    /// <summary>From a spec.</summary>
    public static ReportParameters From(ExperimentSpec s)
    {
        var resolved = s.Resolved();
        // A digest, so plan prints "param spec.origins 1f2e…→9a0b…" rather than every field's position twice.
        var written = resolved.Where(f => f.Origin != "default").Select(f => $"{f.Path}@{f.Origin}");
        var origins = Hashing.Sha256(string.Join(";", written))[..16];
        return new(resolved, s.Name, s.Reference, origins, s.Description, s.Seed, s.Model, s.Dataset, s.Extraction, s.Analysis);
    }
}

/// <summary>Phase 2 stages: only the name (in the canonical summary, titles and report).</summary>
public sealed record NameParameters([property: SpecField("name")] string Name)
{
    /// <summary>From a spec.</summary>
    public static NameParameters From(ExperimentSpec s) => new(s.Name);
}
