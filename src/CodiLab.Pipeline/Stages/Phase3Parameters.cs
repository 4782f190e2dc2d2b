using CodiLab.Specs;

namespace CodiLab.Pipeline.Stages;

/// <summary>interventions-sample: which problems Phase 3 runs, drawn how.</summary>
public sealed record Phase3SampleParameters(
    [property: SpecField("seed")] long Seed,
    [property: SpecField("dataset.source")] DatasetSource Source,
    [property: SpecField("dataset.size")] int Size,
    [property: SpecField("interventions.split")] DatasetSplit Split,
    [property: SpecField("interventions.problems")] SampleSize Problems)
{
    /// <summary>From a spec.</summary>
    public static Phase3SampleParameters From(ExperimentSpec s) =>
        new(s.Seed, s.Dataset.Source, s.Dataset.Size, s.Interventions.Split, s.Interventions.Problems);
}

/// <summary>
/// interventions: the model as loaded, the loop's settings and every field that shapes the sweep. The stage reruns when any
/// of them changes, but each condition's result is cached under a key of its own (<see cref="Phase3Stages"/>), so only the
/// conditions whose resolved definition changed are computed again.
/// </summary>
public sealed record Phase3RunParameters(
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
    [property: SpecField("interventions.max_new_tokens")] int MaxNewTokens,
    [property: SpecField("interventions.families")] IReadOnlyList<string> Families,
    [property: SpecField("interventions.head_metric")] string HeadMetric,
    [property: SpecField("interventions.top_k")] IReadOnlyList<int> TopK,
    [property: SpecField("interventions.head_scan")] SampleSize HeadScan,
    [property: SpecField("interventions.ablation")] AblationMode Ablation,
    [property: SpecField("interventions.scope")] InterventionScope Scope,
    [property: SpecField("interventions.replacements")] IReadOnlyList<LatentReplacement> Replacements,
    [property: SpecField("interventions.later_latents")] LaterLatents LaterLatents,
    [property: SpecField("interventions.controls")] int Controls,
    [property: SpecField("interventions.patch_layers")] SampleSize PatchLayers)
{
    /// <summary>From a spec.</summary>
    public static Phase3RunParameters From(ExperimentSpec s)
    {
        var i = s.Interventions;
        return new(s.Seed, s.Model.Arch, s.Model.Source, s.Model.Path, s.Model.Lora.R, s.Model.Lora.Alpha, s.Model.NumLatent,
            s.Model.DType, s.Model.Device, s.Extraction.BatchSize, i.MaxNewTokens, [.. i.Families.Select(f => f.Word())], i.HeadMetric,
            i.TopK, i.HeadScan, i.Ablation, i.Scope, i.Replacements, i.LaterLatents, i.Controls, i.PatchLayers ?? new SampleSize.All());
    }

    /// <summary>The model section these parameters load.</summary>
    public ModelSection Model => new(Arch, Source, Path, null, null, new LoraSection(LoraR, LoraAlpha), NumLatent, DType, Device);

    /// <summary>The interventions section these parameters describe (problem set and bootstrap are other stages').</summary>
    public InterventionsSection Section => new(DatasetSplit.Test, new SampleSize.All(), MaxNewTokens,
        [.. Families.Select(f => (InterventionFamily)InterventionFields.FamilyWords.ToList().IndexOf(f))], HeadMetric, TopK, HeadScan,
        Ablation, Scope, Replacements, LaterLatents, Controls, 0, PatchLayers);
}

/// <summary>interventions-analyze: the statistics' settings and the name the canonical summary carries.</summary>
public sealed record Phase3AnalyzeParameters(
    [property: SpecField("name")] string Name,
    [property: SpecField("seed")] long Seed,
    [property: SpecField("interventions.bootstrap")] int Bootstrap)
{
    /// <summary>From a spec.</summary>
    public static Phase3AnalyzeParameters From(ExperimentSpec s) => new(s.Name, s.Seed, s.Interventions.Bootstrap);
}
