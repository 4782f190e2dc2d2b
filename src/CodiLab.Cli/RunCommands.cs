using System.CommandLine;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Stages;
using CodiLab.Specs;

namespace CodiLab.Cli;

/// <summary><c>run</c>, <c>plan</c>, <c>verify</c>, <c>clean</c>.</summary>
internal static class RunCommands
{
    private static Argument<string[]> Specs(string description) => new("spec")
    {
        Description = description,
        Arity = ArgumentArity.ZeroOrMore,
    };

    private static IReadOnlyList<string> OrDefaults(string[]? specs) => specs is { Length: > 0 } ? specs : SpecLoader.DefaultSpecs;

    public static Command Run(CommandIO io)
    {
        var spec = new Argument<string>("spec") { Description = "a spec file, or default:tiny-llama / default:tiny-gpt2" };
        var phase = new Option<string?>("--phase") { Description = "run this phase's stages (default: every phase of the spec)" };
        var stage = new Option<string?>("--stage") { Description = "run this stage (and what it needs)" };
        var force = new Option<bool>("--force") { Description = "rerun the selected stages even if cached" };
        var wait = new Option<double>("--wait")
        {
            Description = "seconds to wait for another run of the same experiment to finish",
            DefaultValueFactory = _ => 0,
        }.AtLeast(0, "a wait is 0 seconds or more");
        var json = new Option<bool>("--json") { Description = "print what happened to each stage as one JSON object (logs go to stderr)" };
        var command = new Command("run", "Run a spec's stages; cached stages are reused.") { spec, phase, stage, force, wait, json };
        command.SetAction(parse =>
        {
            var loaded = SpecLoader.Load(parse.GetValue(spec)!);
            var asJson = parse.GetValue(json);
            var env = io.Environment(parse, asJson ? io.Error : null);
            var runner = StageCatalog.Runner(env);
            var outcomes = runner.Run(
                loaded, parse.GetValue(phase), parse.GetValue(stage), parse.GetValue(force), TimeSpan.FromSeconds(parse.GetValue(wait)));
            // The experiment's flat params.json / metrics.json follow every run (derived files: not in lock.json, not verified).
            CodiLab.Pipeline.Features.ExperimentIndex.Refresh(env, loaded.Name, CodiLab.Pipeline.Features.Pinning.DefaultFolder);
            if (asJson)
                JsonOutput.Print(io.Out, JsonOutput.Run(env, loaded, runner.Select(loaded, parse.GetValue(phase), parse.GetValue(stage), out _), outcomes));
            return 0;
        });
        return command;
    }

    public static Command Plan(CommandIO io)
    {
        var specs = Specs("spec files (default: the embedded default specs)");
        var json = new Option<bool>("--json") { Description = "print the plan as JSON (used by build/build.cake)" };
        var command = new Command("plan", "Say per stage whether it is cached, stale (and why) or missing; runs nothing.") { specs, json };
        command.SetAction(parse =>
        {
            var env = io.Environment(parse);
            var runner = StageCatalog.Runner(env);
            var loaded = SpecLoader.LoadAll(OrDefaults(parse.GetValue(specs)));
            var plans = loaded.Select(s => (Spec: s, Stages: runner.Plan(s))).ToList();
            if (parse.GetValue(json))
            {
                JsonOutput.Print(io.Out, JsonOutput.Plan(env, plans));
                return 0;
            }
            foreach (var (s, stages) in plans)
            {
                io.Out.WriteLine($"{s.Name} ({s.Reference})");
                if (stages.Count == 0) io.Out.WriteLine($"  no stages for phases {string.Join(", ", s.Phases.Select(p => p.Word()))} yet");
                var width = stages.Count == 0 ? 0 : stages.Max(x => x.Stage.Name.Length);
                foreach (var p in stages) io.Out.WriteLine($"  {p.Stage.Phase}  {p.Stage.Name.PadRight(width)}  {p.Status}");
            }
            return 0;
        });
        return command;
    }

    public static Command Verify(CommandIO io)
    {
        var deep = new Option<bool>("--deep")
        {
            Description = "also rehash every external input remembered by the hash memo (checkpoint files), ignoring its stamp",
        };
        var command = new Command("verify",
            "Rehash every cache entry (corrupt ones move to cache/.corrupt) and every readable view (edited ones are restored), "
            + "then rerun every pinned experiment from scratch and compare it with its pins.")
        {
            deep,
        };
        var audit = AuditCommands.AddTo(command);
        command.SetAction(parse =>
        {
            var env = io.Environment(parse);
            var code = Rehash.Run(env, parse.GetValue(deep), audit.Text(parse, io), io.Error);
            // The pinned experiments' audit (AuditCommands): reruns in isolation, compares with the pins; exit 6 on drift.
            return AuditCommands.Audit(parse, io, audit, code);
        });
        return command;
    }

    public static Command Clean(CommandIO io)
    {
        var specs = Specs("specs whose experiment folders to delete");
        var all = new Option<bool>("--all")
        {
            Description = "delete every experiment folder, the cache and the comparisons (never the data root; a link is removed, "
                + "its target kept)",
        };
        var command = new Command("clean", "Delete experiment folders (and with --all the cache).") { specs, all };
        command.SetAction(parse =>
        {
            var env = io.Environment(parse);
            var names = parse.GetValue(all)
                ? Housekeeping.Experiments(env).ToList()
                : SpecLoader.LoadAll(OrDefaults(parse.GetValue(specs))).Select(s => s.Name).ToList();
            foreach (var name in names)
                if (Housekeeping.CleanExperiment(env, name) is { } done) io.Out.WriteLine(done);
            if (parse.GetValue(all))
                foreach (var done in Housekeeping.CleanCache(env)) io.Out.WriteLine(done);
            return 0;
        });
        return command;
    }
}
