namespace CodiLab.Specs;

/// <summary>
/// The <c>phase4</c> section (docs/phase4.md): the full-set view of the experiment. Phase 4 runs the Phase 1
/// extraction over a larger set that always contains the Phase 1 sample, then checks the Phase 1–2 conclusions on it.
/// </summary>
/// <param name="Sample">All problems of the dataset, or that many: the Phase 1 sample plus a seeded draw of the rest.</param>
/// <param name="Subsets">Random subsets of the Phase 1 sample's size drawn from the full set (the subsampling distribution).</param>
/// <param name="Bootstrap">Bootstrap resamples of every headline interval (head ranks use a fifth of them).</param>
public sealed record Phase4Section(SampleSize Sample, int Subsets, int Bootstrap)
{
    internal static Phase4Section Read(ExperimentSpec s) => new(
        SampleSize.From(s.Fields["phase4.sample"]),
        checked((int)s.Int("phase4.subsets")),
        checked((int)s.Int("phase4.bootstrap")));
}

/// <summary>The schema rows of the <c>phase4</c> section.</summary>
public static class Phase4Fields
{
    internal static readonly IReadOnlyList<FieldDef> All =
    [
        new("phase4.sample", FieldKind.Int, "all",
            "Phase 4's problems: 'all' of the dataset, or that many (the Phase 1 sample plus a seeded draw of the others; a synthetic "
            + "set is generated on past dataset.size when this is larger)")
            { Min = 1, Max = int.MaxValue, Words = ["all"] },
        new("phase4.subsets", FieldKind.Int, 1000L,
            "random subsets of the Phase 1 sample's size drawn from the full set to see how often they reach its conclusions")
            { Min = 10, Max = 1_000_000 },
        new("phase4.bootstrap", FieldKind.Int, 1000L, "bootstrap resamples of each Phase 4 interval (head ranks: a fifth)")
            { Min = 100, Max = 1_000_000 },
    ];

    /// <summary>
    /// Cross-field rule: a fixed Phase 4 set must hold the Phase 1 sample. A synthetic set may be larger than
    /// <c>dataset.size</c>: the generator is sequential, so its first <c>dataset.size</c> problems are the Phase 1 dataset.
    /// </summary>
    /// <summary>The most synthetic problems a Phase 4 set may hold (the bound of dataset.size).</summary>
    public const int MaxSynthetic = 1_000_000;

    internal static void Check(Dictionary<string, object?> values, Func<string, SourceMark> at, List<SpecDiagnostic> errors)
    {
        if (values["phase4.sample"] is not long n) return;
        if (values["dataset.sample"] is long first && n < first)
        {
            errors.Add(new(at("phase4.sample"),
                $"phase4.sample ({n}) is smaller than the Phase 1 sample ({first}, dataset.sample), which it must contain.",
                "raise 'phase4.sample' or set it to 'all'."));
        }
        if ((string)values["dataset.source"]! == "synthetic" && n > MaxSynthetic)
        {
            errors.Add(new(at("phase4.sample"),
                $"phase4.sample ({n}) is more synthetic problems than CodiLab generates ({MaxSynthetic:N0}, as dataset.size).",
                $"lower 'phase4.sample' to at most {MaxSynthetic}."));
        }
    }
}
