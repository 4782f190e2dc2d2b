using System.Text.Json;
using CodiLab.Pipeline.Engine;
using CodiLab.Specs;

namespace CodiLab.Cli;

/// <summary>
/// The shapes that <c>--json</c> prints (one object or array on stdout; logs go to stderr), and the paths in them: relative
/// to the current folder when inside it (as build.cake and a user's shell use them), absolute otherwise.
/// </summary>
internal static class JsonOutput
{
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Prints one JSON value on <paramref name="stdout"/>.</summary>
    public static void Print(TextWriter stdout, object value) => stdout.WriteLine(JsonSerializer.Serialize(value, Indented));

    /// <summary>A path as shown: relative to the current folder when inside it.</summary>
    public static string Shown(string path) => PipelineRunner.Shown(path);

    /// <summary>Where a stage's outputs are shown: artifacts/&lt;experiment&gt;/&lt;phase&gt;.</summary>
    public static string View(PipelineEnvironment env, ExperimentSpec spec, string phase) =>
        Shown(Path.Combine(env.ExperimentRoot(spec.Name), phase));

    /// <summary>
    /// The report files a stage writes (a stage named <c>report</c> or <c>…-report</c>): its HTML files, or its Markdown
    /// ones when it writes no HTML; none for other stages.
    /// </summary>
    public static IReadOnlyList<string> Reports(PipelineEnvironment env, ExperimentSpec spec, Stage stage)
    {
        if (stage.Name != "report" && !stage.Name.EndsWith("-report", StringComparison.Ordinal)) return [];
        var html = stage.Outputs.Where(o => o.EndsWith(".html", StringComparison.Ordinal)).ToList();
        var chosen = html.Count > 0 ? html : [.. stage.Outputs.Where(o => o.EndsWith(".md", StringComparison.Ordinal))];
        return [.. chosen.Select(o => Shown(Path.Combine(env.ExperimentRoot(spec.Name), stage.Phase, o)))];
    }

    /// <summary><c>plan --json</c>: per spec, every stage with its state, why, key, view folder and report files.</summary>
    public static object Plan(PipelineEnvironment env, IEnumerable<(ExperimentSpec Spec, IReadOnlyList<StagePlan> Stages)> plans) =>
        plans.Select(p => new
        {
            spec = p.Spec.Reference,
            experiment = p.Spec.Name,
            stages = p.Stages.Select(s => new
            {
                phase = s.Stage.Phase,
                stage = s.Stage.Name,
                upstream = s.Stage.Upstream,
                state = s.State.ToString().ToLowerInvariant(),
                status = s.Status,
                key = s.Key,
                view = View(env, p.Spec, s.Stage.Phase),
                reports = Reports(env, p.Spec, s.Stage),
            }),
        });

    /// <summary><c>run --json</c>: what happened to each stage, in order, and the report files written or reused.</summary>
    public static object Run(PipelineEnvironment env, ExperimentSpec spec, IReadOnlyList<Stage> stages, IReadOnlyList<StageOutcome> outcomes)
    {
        var byName = stages.ToDictionary(s => s.Name, StringComparer.Ordinal);
        return new
        {
            spec = spec.Reference,
            experiment = spec.Name,
            stages = outcomes.Select(o => new
            {
                phase = o.Phase,
                stage = o.Stage,
                state = o.Executed ? "ran" : "cached",
                seconds = Math.Round(o.Seconds, 3),
                key = o.Key,
                view = View(env, spec, o.Phase),
            }),
            reports = outcomes.SelectMany(o => Reports(env, spec, byName[o.Stage])).Distinct().ToList(),
        };
    }

    /// <summary><c>compare --json</c>: the pair, its folder, whether it was reused, and its files.</summary>
    public static object Compare(ExperimentSpec a, ExperimentSpec b, string folder, bool cached) => new
    {
        a = new { spec = a.Reference, experiment = a.Name },
        b = new { spec = b.Reference, experiment = b.Name },
        state = cached ? "cached" : "ran",
        folder = Shown(folder),
        report = Shown(Path.Combine(folder, "compare.md")),
        files = CodiLab.Pipeline.Artifacts.CompareFiles.All.Select(f => Shown(Path.Combine(folder, f))).ToList(),
    };
}
