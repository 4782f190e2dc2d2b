using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using CodiLab.Analysis;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Features;
using CodiLab.Pipeline.Stages;
using CodiLab.Reports;
using CodiLab.Specs;

namespace CodiLab.Cli;

/// <summary><c>pin</c>, and the audit step <c>verify</c> runs after its cache rehash.</summary>
internal static class AuditCommands
{
    private static Option<string?> PinsOption() => new("--pins")
    {
        Description = $"the pins folder (default: {Pinning.DefaultFolder} under the current folder)",
    };

    // The pins folder: --pins, else the default. A file in its place is refused; so is a --pins folder that does not exist
    // when it is to be read (verify), since a mistyped folder would otherwise audit nothing and pass.
    internal static string PinsFolder(ParseResult parse, Option<string?> option, bool mustExist)
    {
        var given = parse.GetValue(option);
        var folder = given ?? Pinning.DefaultFolder;
        if (File.Exists(folder))
        {
            throw new CodiLabException($"the pins folder {Path.GetFullPath(folder)} is a file.", "--pins",
                "name a folder (pins are written to <folder>/<experiment>/<phase>.json).", ExitCodes.BadInput);
        }
        if (mustExist && given is not null && !Directory.Exists(folder))
        {
            throw new CodiLabException($"the pins folder {Path.GetFullPath(folder)} does not exist, so there is nothing to read.",
                "--pins", "check the path (the default is experiments/pins under the current folder).", ExitCodes.BadInput);
        }
        return folder;
    }

    public static Command Pin(CommandIO io)
    {
        var specs = new Argument<string[]>("spec")
        {
            Description = "specs to pin (default: every experiment already pinned, from the spec its pins name)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var phase = new Option<string?>("--phase") { Description = "pin this phase only (default: every pinnable phase the spec runs)" };
        var pins = PinsOption();
        var run = new Option<bool>("--run") { Description = "run (or reuse from the cache) the phases first" };
        var command = new Command("pin",
            "Write the canonical summaries of finished phases, with their stage keys and input hashes, as pin files to commit.")
            { specs, phase, pins, run };
        command.SetAction(parse =>
        {
            var env = io.Environment(parse);
            var folder = PinsFolder(parse, pins, mustExist: false);
            var named = parse.GetValue(specs) ?? [];
            var loaded = named.Length > 0 ? SpecLoader.LoadAll(named) : Auditing.Targets(folder, []).Select(t => t.Spec).ToList();
            if (loaded.Count == 0)
            {
                throw new CodiLabException($"no spec was named and nothing is pinned under {Path.GetFullPath(folder)} yet.", null,
                    "name the specs to pin, e.g. 'codilab pin default:tiny-llama default:tiny-gpt2 --run'.", ExitCodes.InvalidSpec);
            }
            var chosen = loaded.Select(s => (Spec: s, Phases: Pinning.PhasesToPin(s, parse.GetValue(phase)))).ToList();
            if (parse.GetValue(run))
            {
                var runner = StageCatalog.Runner(env);
                foreach (var (spec, phases) in chosen)
                    foreach (var p in phases) runner.Run(spec, p);
            }
            // Every phase is captured before any file is written: an unfinished one leaves every pin as it was.
            var captured = chosen.SelectMany(c => c.Phases.Select(p =>
                Pinning.Capture(c.Spec, p, env, Pinning.SpecReference(c.Spec.Reference, folder)))).ToList();
            foreach (var pin in captured)
            {
                var path = Pinning.Write(folder, pin);
                io.Out.WriteLine($"pinned {pin.Experiment} {pin.Phase}: {path} ({pin.Stages.Count} stage keys, harness {pin.Harness}, "
                    + $"{pin.Model.Source} model {pin.Model.Sha256[..12]}, dataset sample {pin.Dataset.SampleSha256[..12]})");
            }
            return 0;
        });
        return command;
    }

    /// <summary>The options <c>verify</c> takes for its audit step.</summary>
    public sealed record VerifyOptions(Argument<string[]> Specs, Option<bool> Json, Option<string?> Pins)
    {
        /// <summary>Where verify's text lines go: stdout, or stderr when stdout carries the JSON.</summary>
        public TextWriter Text(ParseResult parse, CommandIO io) => parse.GetValue(Json) ? io.Error : io.Out;
    }

    /// <summary>Adds the audit's arguments and options to the <c>verify</c> command.</summary>
    public static VerifyOptions AddTo(Command verify)
    {
        var options = new VerifyOptions(
            new Argument<string[]>("spec")
            {
                Description = "audit these specs' pins (default: every experiment under the pins folder)",
                Arity = ArgumentArity.ZeroOrMore,
            },
            new Option<bool>("--json") { Description = "print the audit as JSON on stdout (text goes to stderr)" },
            PinsOption());
        verify.Arguments.Add(options.Specs);
        verify.Options.Add(options.Json);
        verify.Options.Add(options.Pins);
        return options;
    }

    /// <summary>
    /// The audit step, after the cache rehash that returned <paramref name="cacheCode"/>: reruns and compares every pinned
    /// experiment (or the named specs). Returns the exit code: 6 when a pinned value drifted, else the rehash's.
    /// </summary>
    public static int Audit(ParseResult parse, CommandIO io, VerifyOptions options, int cacheCode)
    {
        var text = options.Text(parse, io);
        var env = PipelineEnvironment.FromEnvironment(text, parse.GetValue(io.Artifacts));
        var folder = PinsFolder(parse, options.Pins, mustExist: true);
        var targets = Auditing.Targets(folder, parse.GetValue(options.Specs) ?? []);
        if (targets.Count == 0) text.WriteLine($"audit: nothing is pinned under {folder}; no experiment rerun");
        var outcomes = targets.Select(t => Auditing.Run(t, env, folder)).ToList();
        foreach (var outcome in outcomes) Print(text, outcome);
        var drifted = outcomes
            .SelectMany(o => o.Audit.Phases.Where(p => !p.Passed).Select(p => $"{o.Audit.Experiment} {p.Phase}")).ToList();
        var code = drifted.Count > 0 ? ExitCodes.Drift : cacheCode;
        if (parse.GetValue(options.Json))
        {
            io.Out.WriteLine(JsonSerializer.Serialize(new
            {
                ExitCode = code,
                CacheExitCode = cacheCode,
                Pins = folder,
                Experiments = outcomes.Select(o => new { o.Folder, o.Audit }),
            }, Pinning.Json));
        }
        if (drifted.Count > 0)
        {
            io.Error.WriteLine($"{folder}: error: pinned values drifted in {string.Join(", ", drifted)} (see each audit.md above). "
                + "Fix: if the change is intended, re-pin ('codilab pin --run') and commit the pins; otherwise find what changed "
                + "(the audit lists stage keys, model and dataset hashes that differ from the pin).");
        }
        return code;
    }

    private static void Print(TextWriter text, AuditOutcome outcome)
    {
        var audit = outcome.Audit;
        var report = Path.GetRelativePath(Directory.GetCurrentDirectory(), Path.Combine(outcome.Folder, Auditing.MarkdownFile));
        foreach (var phase in audit.Phases)
        {
            var verdict = phase.Passed
                ? $"pass, {phase.Fields} fields within"
                : $"DRIFT in {phase.Drifted} of {phase.Fields} fields beyond";
            text.WriteLine($"audit {audit.Experiment} {phase.Phase}: {verdict} {audit.Tolerance} -> {report}");
            foreach (var note in phase.Notes) text.WriteLine($"  note: {note}");
            foreach (var row in phase.Rows.Where(r => r.Drifted).Take(10))
            {
                var delta = row.Delta is { } d
                    ? string.Create(CultureInfo.InvariantCulture, $", delta {d:R} > {row.Allowed:0.##########}")
                    : "";
                text.WriteLine($"  {row.Field}: pinned {AuditReport.Value(row.Pinned, row.Verdict == AuditVerdict.New)}, "
                    + $"rerun {AuditReport.Value(row.Rerun, row.Verdict == AuditVerdict.Missing)}{delta}");
            }
            if (phase.Drifted > 10) text.WriteLine($"  … and {phase.Drifted - 10} more in {report}");
        }
    }
}
