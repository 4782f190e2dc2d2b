namespace CodiLab.Specs;

/// <summary>The families of Phase 3 conditions (docs/experiment.md#phase-3-causal-interventions).</summary>
public enum InterventionFamily
{
    /// <summary>The top-k heads by <c>interventions.head_metric</c>, for each k, with a matched random control.</summary>
    TopHeads,
    /// <summary>Single heads spread over the metric's ranking (the Spearman and the layer × head heatmap).</summary>
    HeadScan,
    /// <summary>Every head of one layer, per layer.</summary>
    Layers,
    /// <summary>The seed's edge families blocked at the latent steps, each with a matched random control.</summary>
    Edges,
    /// <summary>The vector fed at z_k replaced (zero / mean / donor), per latent position.</summary>
    Latents,
    /// <summary>The residual stream at (layer, z_k) patched from a donor problem.</summary>
    Patching,
    /// <summary>LLaMA only: the key and value of one KV head (group) ablated, per layer and group.</summary>
    KvGroups,
}

/// <summary>How an ablated head's slice of the o_proj input is replaced.</summary>
public enum AblationMode
{
    /// <summary>Zeros.</summary>
    Zero,
    /// <summary>Its mean over the reference set (the Phase 3 problems' baseline run).</summary>
    Mean,
}

/// <summary>Which forward calls a head or layer ablation covers.</summary>
public enum InterventionScope
{
    /// <summary>The BOT step and the latent steps (the continuous thoughts).</summary>
    Latent,
    /// <summary>The answer steps after EOT.</summary>
    Answer,
    /// <summary>Every call: the prompt, the latent steps and the answer.</summary>
    All,
}

/// <summary>What replaces the vector fed at a latent position.</summary>
public enum LatentReplacement
{
    /// <summary>A zero vector.</summary>
    Zero,
    /// <summary>The mean of that position's vector over the Phase 3 problems (baseline run).</summary>
    Mean,
    /// <summary>The same position's vector from a donor problem.</summary>
    Donor,
}

/// <summary>Whether the latents after a replaced one are recomputed or kept from the unmodified run.</summary>
public enum LaterLatents
{
    /// <summary>Recomputed by the loop (the default).</summary>
    Recompute,
    /// <summary>Held at their baseline values.</summary>
    Fixed,
}

/// <summary>The <c>interventions</c> section: Phase 3's problem set, loop settings and the sweep of conditions.</summary>
/// <param name="Split">The GSM8K split the problems come from (a synthetic set gets a split of its own).</param>
/// <param name="Problems">How many problems (seeded sample, sorted), or all of the split.</param>
/// <param name="MaxNewTokens">Answer tokens decoded at most after EOT.</param>
/// <param name="Families">The families of conditions run.</param>
/// <param name="HeadMetric">The Phase 2 per-head metric that ranks heads.</param>
/// <param name="TopK">The k of the top-k head conditions.</param>
/// <param name="HeadScan">How many single heads the scan ablates, or all.</param>
/// <param name="Ablation">Zero or mean head ablation.</param>
/// <param name="Scope">Which calls head and layer ablations cover.</param>
/// <param name="Replacements">The latent replacements run.</param>
/// <param name="LaterLatents">Recompute or hold the latents after a replaced one.</param>
/// <param name="Controls">Random control draws per condition that has a matched control.</param>
/// <param name="Bootstrap">Bootstrap resamples per interval.</param>
/// <param name="PatchLayers">Layers the patching family covers: all (null), or that many evenly spaced, first and last included.</param>
public sealed record InterventionsSection(
    DatasetSplit Split, SampleSize Problems, int MaxNewTokens, IReadOnlyList<InterventionFamily> Families, string HeadMetric,
    IReadOnlyList<int> TopK, SampleSize HeadScan, AblationMode Ablation, InterventionScope Scope,
    IReadOnlyList<LatentReplacement> Replacements, LaterLatents LaterLatents, int Controls, int Bootstrap, SampleSize? PatchLayers = null)
{
    internal static InterventionsSection Read(ExperimentSpec s) => new(
        SpecWords.Parse<DatasetSplit>(s.Text("interventions.split")!),
        SampleSize.From(s.Fields["interventions.problems"]),
        checked((int)s.Int("interventions.max_new_tokens")),
        [.. s.Words("interventions.families").Select(InterventionFields.Family)],
        s.Text("interventions.head_metric")!,
        [.. ((long[])s.Fields["interventions.top_k"]!).Select(k => checked((int)k))],
        SampleSize.From(s.Fields["interventions.head_scan"]),
        SpecWords.Parse<AblationMode>(s.Text("interventions.ablation")!),
        SpecWords.Parse<InterventionScope>(s.Text("interventions.scope")!),
        [.. s.Words("interventions.replacements").Select(SpecWords.Parse<LatentReplacement>)],
        SpecWords.Parse<LaterLatents>(s.Text("interventions.later_latents")!),
        checked((int)s.Int("interventions.controls")),
        checked((int)s.Int("interventions.bootstrap")),
        SampleSize.From(s.Fields["interventions.patch_layers"]));
}

/// <summary>The schema rows of the <c>interventions</c> section, kept together here.</summary>
public static class InterventionFields
{
    /// <summary>The spec words of <see cref="InterventionFamily"/>, in enum order.</summary>
    public static readonly IReadOnlyList<string> FamilyWords =
        ["top_heads", "head_scan", "layers", "edges", "latents", "patching", "kv_groups"];

    /// <summary>
    /// Per-head metrics a ranking may use: the latent view's (Phase 2 <c>latent_heads.csv</c>; <c>skip</c> is the mean of
    /// its skip curve) and the seed's (<c>seed_*</c>, from <c>ranked_heads.csv</c>).
    /// </summary>
    public static readonly IReadOnlyList<string> HeadMetrics =
    [
        "seed_composite", "seed_hub", "seed_skip", "sequential", "self", "skip", "bot_mass", "question_mass",
        "hub_p0", "hub_bot", "hub_z1", "receiver_kurtosis",
    ];

    internal static InterventionFamily Family(string word) => (InterventionFamily)FamilyWords.ToList().IndexOf(word);

    /// <summary>The spec word of a family.</summary>
    public static string Word(this InterventionFamily family) => FamilyWords[(int)family];

    internal static readonly IReadOnlyList<FieldDef> All =
    [
        new("interventions.split", FieldKind.Choice, "test",
            "the GSM8K split of the Phase 3 problems (a synthetic dataset gets a held-out split of its own)")
            { Words = ["test", "train"] },
        new("interventions.problems", FieldKind.Int, "all",
            "how many problems every condition runs (a seeded sample, sorted; the same ids for all), or 'all'")
            { Min = 1, Max = int.MaxValue, Words = ["all"] },
        new("interventions.max_new_tokens", FieldKind.Int, 256L, "answer tokens decoded at most after EOT") { Min = 1, Max = 4096 },
        new("interventions.families", FieldKind.ChoiceList, FamilyWords.Where(w => w != "kv_groups").ToArray(),
            "the families of conditions run") { Words = FamilyWords },
        new("interventions.head_metric", FieldKind.Choice, "seed_composite", "the Phase 2 per-head metric that ranks heads")
            { Words = HeadMetrics },
        new("interventions.top_k", FieldKind.IntList, new long[] { 1, 3, 10, 20 },
            "the k of the top-k head conditions (capped at the model's head count)") { Min = 1, Max = 100_000 },
        new("interventions.head_scan", FieldKind.Int, 24L,
            "single heads ablated one at a time, spread evenly over the metric's ranking, or 'all'")
            { Min = 0, Max = 100_000, Words = ["all"] },
        new("interventions.ablation", FieldKind.Choice, "zero",
            "zero: the head's slice of the o_proj input set to 0; mean: set to its mean over the Phase 3 baseline run")
            { Words = ["zero", "mean"] },
        new("interventions.scope", FieldKind.Choice, "latent",
            "the passes head and layer ablations cover: latent (the passes feeding z1..zN), answer (EOT and the answer), or all") { Words = ["latent", "answer", "all"] },
        new("interventions.replacements", FieldKind.ChoiceList, new[] { "zero", "mean", "donor" },
            "what replaces the vector fed at z_k in the latent family") { Words = ["zero", "mean", "donor"] },
        new("interventions.later_latents", FieldKind.Choice, "recompute",
            "after a replaced latent, later ones are recomputed by the loop or held at their baseline values")
            { Words = ["recompute", "fixed"] },
        new("interventions.patch_layers", FieldKind.Int, "all",
            "layers the patching family patches: 'all', or that many evenly spaced (first and last included)")
            { Min = 1, Max = 100_000, Words = ["all"] },
        new("interventions.controls", FieldKind.Int, 1L, "random control draws per condition that has a matched control")
            { Min = 0, Max = 100 },
        new("interventions.bootstrap", FieldKind.Int, 2000L, "bootstrap resamples per interval") { Min = 100, Max = 1_000_000 },
    ];

    /// <summary>Cross-field rules of the section; adds a diagnostic for each one broken.</summary>
    internal static void Check(
        Dictionary<string, object?> values, Func<string, SourceMark> at, IReadOnlyDictionary<string, SourceMark> marks,
        List<SpecDiagnostic> errors)
    {
        if ((string)values["dataset.source"]! == "synthetic" && values["interventions.problems"] is long n
            && n > (long)values["dataset.size"]!)
        {
            errors.Add(new(at("interventions.problems"),
                $"cannot draw {n} Phase 3 problems from a synthetic split of {values["dataset.size"]} (dataset.size).",
                "lower 'interventions.problems' or raise 'dataset.size'."));
        }
        if (marks.ContainsKey("interventions.families") && ((string[])values["interventions.families"]!).Length == 0)
        {
            errors.Add(new(at("interventions.families"), "'interventions.families' is empty: Phase 3 would run the baseline alone.",
                $"list at least one of {string.Join(", ", FamilyWords)}, or remove the field for the standard sweep."));
        }
        if (marks.ContainsKey("interventions.top_k") && ((long[])values["interventions.top_k"]!).Length == 0)
        {
            errors.Add(new(at("interventions.top_k"), "'interventions.top_k' is empty: the top_heads family would have no condition.",
                "list at least one k (e.g. [1, 3, 10, 20]), or remove the field for the default."));
        }
    }
}
