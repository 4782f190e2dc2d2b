using CodiLab.Pipeline.Engine;
using CodiLab.Specs;

namespace CodiLab.Pipeline.Stages;

/// <summary>
/// The stages each phase is made of, in dependency order (docs/artifacts-and-cache.md#stages-and-phases). A phase with no stage yet simply
/// contributes none; the Cake targets and <c>codilab plan</c> list what exists.
/// </summary>
public static class StageCatalog
{
    /// <summary>A runner over the product's stages.</summary>
    public static PipelineRunner Runner(PipelineEnvironment env) => new(env, For);

    /// <summary>
    /// Every stage of the phases the spec asks for, and every stage they read from (Phase 3 reads Phase 2's per-head metrics, so
    /// <c>phases: [Phase3]</c> alone still runs the Phase 1–2 stages it needs), in dependency order.
    /// </summary>
    public static IReadOnlyList<Stage> For(ExperimentSpec spec)
    {
        var phases = spec.Phases.Select(p => p.Word()).ToHashSet();
        var all = All(spec).ToList();
        var needed = all.Where(s => phases.Contains(s.Phase)).Select(s => s.Name).ToHashSet();
        foreach (var stage in Enumerable.Reverse(all))
            if (needed.Contains(stage.Name)) needed.UnionWith(stage.Upstream);
        return [.. all.Where(s => needed.Contains(s.Name))];
    }

    private static IEnumerable<Stage> All(ExperimentSpec spec)
    {
        yield return SampleStage.Definition;
        if (spec.Model.IsGenerated) yield return ModelStage.For(spec);
        yield return ExtractStage.For(spec);
        yield return Phase1Stages.Aggregate();
        yield return Phase1Stages.Analyze();
        yield return FiguresStage.Definition();
        yield return ReportStage.For(spec);
        yield return Phase2Stages.Heads();
        yield return Phase2Stages.Figures();
        yield return Phase2Stages.ReportStage();
        foreach (var stage in Phase3Stages.For(spec)) yield return stage;
        foreach (var stage in Phase4Stages.For(spec)) yield return stage;
    }
}
