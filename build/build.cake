// Turns experiment specs into Cake tasks. Cake computes nothing itself: it asks `codilab plan --json` for
// each spec's stages and states, registers one task per stage (e.g. Phase1-tiny-llama-sample) with its
// upstream as dependencies, and runs `codilab run SPEC --stage NAME` for each stage that is not cached.
// Output: one line per stage task (a cached one is printed here, a run one by codilab), then the report paths;
// build.sh runs Cake with --verbosity=quiet --no-report so Cake's banners and summary table stay out of it.
//
//   ./build.sh --target=Phase1                                  embedded default specs
//   ./build.sh --target=Phase1 --spec=experiments/llama-gsm8k.yaml [--spec=...] [--force]
//   ./build.sh --target=Compare [--spec=A --spec=B]
//   ./build.sh --target=Plan | Verify | Pin | Clean | FetchData | Bench | Experiments | Report
//
// Exit code: codilab's own when a codilab call fails (README, "Exit codes"); 2 when a Phase target has no stage for
// the selected specs or Compare gets a wrong number of specs; 1 for a failure of the script itself.
using System.Text.Json;

var target = Argument("target", "Phase1");
var configuration = Argument("configuration", "Release");
var specs = Arguments<string>("spec", new List<string>());
var force = HasArgument("force");
// Cake starts in build/; everything CodiLab reads and writes is relative to the repository root.
var root = MakeAbsolute(Directory(".."));
var cli = root.CombineWithFilePath($"src/CodiLab.Cli/bin/{configuration}/net10.0/codilab.dll").FullPath;
var phases = new[] { "Phase1", "Phase2", "Phase3", "Phase4" };

ProcessArgumentBuilder CliArguments(IEnumerable<string> args)
{
    var builder = new ProcessArgumentBuilder().AppendQuoted(cli);
    foreach (var arg in args) builder.AppendQuoted(arg);
    return builder;
}

// A failed codilab call ends the build at once with codilab's exit code, after codilab's own paragraph and one line
// here; throwing instead would make Cake add its error banner and task table (even with --no-report).
void Fail(int code, string line)
{
    Console.Error.WriteLine(line);
    Environment.Exit(code);
}

void Codilab(params string[] args)
{
    var code = StartProcess("dotnet", new ProcessSettings { Arguments = CliArguments(args), WorkingDirectory = root });
    if (code != 0) Fail(code, $"codilab {string.Join(" ", args)}: failed (exit {code})");
}

// One stage: codilab prints its own line (ran, with time and where its outputs are); a failure adds one line naming the
// stage, after codilab's paragraph saying why.
void RunStage(string experiment, string stage, string[] args)
{
    var clock = System.Diagnostics.Stopwatch.StartNew();
    var code = StartProcess("dotnet", new ProcessSettings { Arguments = CliArguments(args), WorkingDirectory = root });
    if (code != 0) Fail(code, $"[{experiment}] {stage}: failed (exit {code}) after {clock.Elapsed.TotalSeconds:0.0} s");
}

JsonElement PlanJson()
{
    var code = StartProcess("dotnet", new ProcessSettings { Arguments = CliArguments(new[] { "plan", "--json" }.Concat(specs)), RedirectStandardOutput = true, WorkingDirectory = root }, out var lines);
    if (code != 0) throw new CakeException(code, $"codilab plan exited with code {code} (see the error above)");
    return JsonDocument.Parse(string.Join("\n", lines)).RootElement;
}

IEnumerable<string> PinsArgument() => HasArgument("pins") ? new[] { "--pins", Argument<string>("pins") } : new string[0];

if (!System.IO.File.Exists(cli)) throw new CakeException($"{cli} is missing: run ./build.sh (it builds the solution first) rather than dotnet cake directly.");

var phaseTasks = phases.ToDictionary(p => p, p => new List<string>());
// The report files of every stage task that ran or was found cached, listed once the target has finished.
var reports = new List<string>();
if (phases.Contains(target))
{
    foreach (var experiment in PlanJson().EnumerateArray())
    {
        var spec = experiment.GetProperty("spec").GetString();
        var name = experiment.GetProperty("experiment").GetString();
        var taskOf = experiment.GetProperty("stages").EnumerateArray()
            .ToDictionary(s => s.GetProperty("stage").GetString(), s => $"{s.GetProperty("phase").GetString()}-{name}-{s.GetProperty("stage").GetString()}");
        foreach (var stage in experiment.GetProperty("stages").EnumerateArray())
        {
            var stageName = stage.GetProperty("stage").GetString();
            var cached = stage.GetProperty("state").GetString() == "cached";
            var line = $"[{name}] {stageName}: cached ({stage.GetProperty("key").GetString()?[..12]}) -> {stage.GetProperty("view").GetString()}";
            var stageReports = stage.GetProperty("reports").EnumerateArray().Select(r => r.GetString()).ToList();
            var args = new List<string> { "run", spec, "--stage", stageName };
            if (force) args.Add("--force");
            // A cached stage is still a task that runs (so it has its one line), but it only says so: no codilab process.
            var task = Task(taskOf[stageName])
                .Description($"{stage.GetProperty("status").GetString()}")
                .Does(() =>
                {
                    if (cached && !force) Console.WriteLine(line);
                    else RunStage(name, stageName, args.ToArray());
                    reports.AddRange(stageReports);
                });
            foreach (var upstream in stage.GetProperty("upstream").EnumerateArray())
                task.IsDependentOn(taskOf[upstream.GetString()]);
            phaseTasks[stage.GetProperty("phase").GetString()].Add(taskOf[stageName]);
        }
    }
}

// A Phase target that selects nothing is an error, not a success: the user asked for work that does not exist.
if (phases.Contains(target) && phaseTasks[target].Count == 0)
    throw new CakeException(2, $"{target}: no stage of the selected specs belongs to {target} in this version of CodiLab, "
        + "so nothing would run. Fix: pick a phase the specs list under 'phases:' (see ./build.sh --target=Plan), or a spec that runs it.");

foreach (var phase in phases)
{
    var task = Task(phase);
    foreach (var t in phaseTasks[phase]) task.IsDependentOn(t);
}

Task("Plan").Does(() => Codilab(new[] { "plan" }.Concat(specs).ToArray()));
// Rehashes the cache, then reruns every pinned experiment (or the --spec ones) in isolation and compares it with its pins
// (exit 6 on drift); --pins=DIR names another pins folder. Pin re-pins (after running or reusing the phases).
Task("Verify").Does(() => Codilab(new[] { "verify" }.Concat(specs).Concat(PinsArgument()).ToArray()));
Task("Pin").Does(() => Codilab(new[] { "pin", "--run" }.Concat(specs).Concat(PinsArgument()).ToArray()));
Task("Clean").Does(() => Codilab("clean", "--all"));
// The experiments table (codilab experiments; --sort=FIELD and --json pass through) and the static report site, artifacts/site/.
Task("Experiments").Does(() => Codilab(new[] { "experiments" }.Concat(HasArgument("json") ? new[] { "--json" } : new string[0])
    .Concat(HasArgument("sort") ? new[] { "--sort", Argument<string>("sort") } : new string[0]).Concat(PinsArgument()).ToArray()));
Task("Report").Does(() => Codilab(new[] { "site" }.Concat(PinsArgument()).ToArray()));
Task("FetchData").Does(() => Codilab("fetch-data"));
// Compares two specs (default: the embedded pair) after running or reusing their Phase 1-2 stages.
Task("Compare").Does(() =>
{
    if (specs.Count != 0 && specs.Count != 2)
        Fail(2, $"Compare needs exactly two --spec (or none for the default pair); got {specs.Count}. "
            + "Fix: pass --spec=A --spec=B, or no --spec for the embedded pair.");
    Codilab(new[] { "compare" }.Concat(specs).ToArray());
});
// Times extraction per spec (model load apart) and writes artifacts/<experiment>/bench.json; --problems=N,
// --batch-size=B, --model=DIR and --peer=FILE pass through to `codilab bench`.
Task("Bench").Does(() =>
{
    var extra = new List<string>();
    foreach (var option in new[] { "problems", "batch-size", "model", "peer" })
        if (HasArgument(option)) { extra.Add($"--{option}"); extra.Add(Argument<string>(option)); }
    foreach (var spec in specs.Count > 0 ? specs : new List<string> { "default:tiny-llama", "default:tiny-gpt2" })
        Codilab(new[] { "bench", spec }.Concat(extra).ToArray());
});

// Cake reports a failed task with exit code 1 whatever the task threw; rethrowing the task's CakeException here,
// outside the task, makes the process exit with its code (codilab's), which build.sh passes on.
try
{
    RunTarget(target);
    var written = reports.Distinct().Where(r => System.IO.File.Exists(System.IO.Path.Combine(root.FullPath, r))).ToList();
    if (written.Count > 0)
    {
        Console.WriteLine("Reports:");
        foreach (var report in written) Console.WriteLine($"  {report}");
    }
}
catch (CakeReportException e) when (e.InnerException is CakeException failed)
{
    throw new CakeException(failed.ExitCode, failed.Message);
}
