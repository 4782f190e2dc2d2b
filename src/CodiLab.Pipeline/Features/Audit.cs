using System.Text.Json;
using System.Text.Json.Nodes;
using CodiLab.Analysis;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Stages;
using CodiLab.Reports;
using CodiLab.Specs;

namespace CodiLab.Pipeline.Features;

/// <summary>An experiment to audit: its spec and its pins (path and content), in phase order.</summary>
public sealed record AuditTarget(ExperimentSpec Spec, IReadOnlyList<(string Path, PinFile Pin)> Pins);

/// <summary>An audit done: the result, and the folder holding <c>audit.json</c>, <c>audit.md</c> and the rerun summaries.</summary>
public sealed record AuditOutcome(ExperimentAudit Audit, string Folder);

/// <summary>
/// The audit step of <c>codilab verify</c>: every pinned phase is rerun from scratch into an isolated artifacts root
/// (<c>artifacts/audit/&lt;experiment&gt;-&lt;pid&gt;/</c>, its own cache, removed afterwards: the shared cache is neither
/// read nor written), its canonical summary compared with the pin field by field under the spec's <c>audit.*</c>
/// tolerance, and the result written to <c>artifacts/&lt;experiment&gt;/audit/</c>.
/// </summary>
public static class Auditing
{
    /// <summary>The folder under the artifacts root that holds the isolated reruns while they run (a reserved name).</summary>
    public const string RerunFolder = "audit";

    /// <summary>The machine-readable result, in the experiment's <c>audit/</c> folder.</summary>
    public const string JsonFile = "audit.json";

    /// <summary>The readable result, beside it.</summary>
    public const string MarkdownFile = "audit.md";

    /// <summary>
    /// What to audit: the named specs (each must have pins), or with none every experiment under <paramref name="pins"/>,
    /// each rerun from the spec its pins name. Every pin and spec is read here, before anything runs.
    /// </summary>
    public static IReadOnlyList<AuditTarget> Targets(string pins, IReadOnlyList<string> specs)
    {
        if (specs.Count > 0)
        {
            return [.. SpecLoader.LoadAll(specs).Select(spec => ReadPins(pins, spec.Name) is { Count: > 0 } found
                ? new AuditTarget(spec, found)
                : throw new CodiLabException($"experiment '{spec.Name}' has no pins under {Path.GetFullPath(pins)}.", spec.Reference,
                    $"run its phases, then pin them: 'codilab pin {spec.Reference} --run' (or name the pins folder with --pins).",
                    ExitCodes.BadInput))];
        }
        if (!Directory.Exists(pins)) return [];
        var targets = new List<AuditTarget>();
        foreach (var folder in Directory.EnumerateDirectories(pins).Order(StringComparer.Ordinal))
        {
            var found = ReadPins(pins, Path.GetFileName(folder));
            if (found.Count > 0) targets.Add(new AuditTarget(SpecOf(pins, found), found));
        }
        return targets;
    }

    /// <summary>The pins of one experiment, in phase order (none when its folder is absent).</summary>
    public static IReadOnlyList<(string Path, PinFile Pin)> ReadPins(string pins, string experiment)
    {
        var folder = Path.Combine(pins, experiment);
        if (!Directory.Exists(folder)) return [];
        var files = Directory.EnumerateFiles(folder, "*.json").Order(StringComparer.Ordinal).ToList();
        foreach (var file in files.Where(f => Pinning.CanonicalFileOf(Path.GetFileNameWithoutExtension(f)) is null))
        {
            throw Malformed(file, $"'{Path.GetFileName(file)}' is not a pinnable phase (pins are named "
                + $"{string.Join(", ", Pinning.CanonicalFiles.Select(c => c.Phase + ".json"))})");
        }
        return [.. Pinning.CanonicalFiles.Select(c => Path.Combine(folder, c.Phase + ".json")).Where(File.Exists)
            .Select(f => (f, ReadPin(f)))];
    }

    /// <summary>Reads and checks one pin file; a malformed one is one clear error (exit 3) naming it.</summary>
    public static PinFile ReadPin(string path)
    {
        PinFile? pin;
        try
        {
            pin = JsonSerializer.Deserialize<PinFile>(File.ReadAllText(path), Pinning.Json);
        }
        catch (JsonException e)
        {
            throw Malformed(path, $"it is not a pin file's JSON ({e.Message})");
        }
        string? problem = pin switch
        {
            null => "it holds null",
            { Format: not Pinning.Format } => $"format {pin.Format} is not {Pinning.Format}",
            { Experiment: null or "" } or { Phase: null or "" } or { Spec: null or "" } or { Harness: null or "" } =>
                "'experiment', 'phase', 'spec' and 'harness' must all be set",
            { Stages: null } or { Model.Sha256: null } or { Dataset.SampleSha256: null } => "'stages', 'model' and 'dataset' must be set",
            { Summary: not JsonObject } => "'summary' must be the canonical summary's JSON object",
            _ when pin.Phase != Path.GetFileNameWithoutExtension(path) => $"it pins {pin.Phase} but is named {Path.GetFileName(path)}",
            _ when pin.Experiment != Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(path))) =>
                $"it pins experiment '{pin.Experiment}' but lies in the folder of another",
            _ => null,
        };
        return problem is null ? pin! : throw Malformed(path, problem);
    }

    private static CodiLabException Malformed(string path, string why) =>
        new($"the pin file is malformed: {why}.", path,
            "restore it from version control (git checkout -- FILE), or regenerate it: 'codilab pin SPEC --run'.", ExitCodes.BadInput);

    // The spec an experiment's pins name, loaded; it must exist and still be named as the experiment.
    private static ExperimentSpec SpecOf(string pins, IReadOnlyList<(string Path, PinFile Pin)> found)
    {
        var (path, pin) = found[0];
        var other = found.FirstOrDefault(f => f.Pin.Spec != pin.Spec);
        if (other.Pin is not null)
            throw Malformed(other.Path, $"it names the spec '{other.Pin.Spec}' while {Path.GetFileName(path)} names '{pin.Spec}'");
        var reference = Pinning.ResolveSpec(pin.Spec, pins);
        if (!SpecLoader.IsEmbedded(reference) && !File.Exists(reference))
        {
            throw new CodiLabException($"the spec '{pin.Spec}' this pin was made from does not exist (looked for {reference}).", path,
                "restore the spec, verify the experiment by naming its spec ('codilab verify SPEC'), or delete its pins folder.",
                ExitCodes.BadInput);
        }
        // Named as a user in the current folder would name it (the report's key holds the reference), when it lies below.
        var relative = SpecLoader.IsEmbedded(reference) ? reference : Path.GetRelativePath(Directory.GetCurrentDirectory(), reference);
        var below = !relative.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(relative);
        var spec = SpecLoader.Load(below ? relative : reference);
        if (spec.Name != pin.Experiment)
        {
            throw new CodiLabException($"the spec '{pin.Spec}' now names experiment '{spec.Name}', but this pin is of '{pin.Experiment}'.",
                path, $"move the pins to {Path.Combine(pins, spec.Name)} (and re-pin), or restore the spec's name.", ExitCodes.BadInput);
        }
        return spec;
    }

    /// <summary>Reruns the target's pinned phases in isolation, compares them with the pins and writes the audit files.</summary>
    public static AuditOutcome Run(AuditTarget target, PipelineEnvironment env, string pins)
    {
        var spec = target.Spec;
        RemoveAbandoned(env);
        var root = Path.Combine(env.ArtifactsRoot, RerunFolder, $"{spec.Name}-{Environment.ProcessId}");
        DeleteTree(root);
        var isolated = env with { ArtifactsRoot = root };
        var reference = Pinning.SpecReference(spec.Reference, pins);
        var tolerance = new AuditTolerance(spec.Audit.Tolerance, spec.Audit.RelativeTolerance);
        var runs = spec.Phases.Select(p => p.Word()).ToHashSet();
        var phases = new List<PhaseAudit>();
        var reruns = new List<PinFile>();
        try
        {
            var runner = StageCatalog.Runner(isolated);
            foreach (var (_, pin) in target.Pins.Where(p => runs.Contains(p.Pin.Phase))) runner.Run(spec, pin.Phase);
            foreach (var (_, pin) in target.Pins)
            {
                var rerun = runs.Contains(pin.Phase) ? Pinning.Capture(spec, pin.Phase, isolated, reference) : null;
                if (rerun is not null) reruns.Add(rerun);
                var rows = CanonicalAudit.Compare(pin.Summary, rerun?.Summary, tolerance);
                phases.Add(new PhaseAudit(pin.Phase, Pinning.CanonicalFileOf(pin.Phase)!, rows.Count, rows.Count(r => r.Drifted),
                    Differences(pin, rerun), rows));
            }
        }
        finally
        {
            DeleteTree(root);
            // The parent goes too once no other verify is using it, so nothing of the audit stays beside the experiments.
            var parent = Path.GetDirectoryName(root)!;
            if (Directory.Exists(parent) && !Directory.EnumerateFileSystemEntries(parent).Any()) Directory.Delete(parent);
        }
        var audit = new ExperimentAudit(spec.Name, reference, pins, env.HarnessVersion, tolerance, phases);
        return new AuditOutcome(audit, Write(env, audit, reruns));
    }

    /// <summary>What differs between a pin and its rerun besides the summary's values (each a sentence for audit.md).</summary>
    public static IReadOnlyList<string> Differences(PinFile pin, PinFile? rerun)
    {
        if (rerun is null) return [$"the spec no longer runs {pin.Phase}, so nothing was rerun to compare with"];
        var notes = new List<string>();
        void Differs(string what, object? then, object? now, string why)
        {
            if (!Equals(then, now)) notes.Add($"{what}: {then ?? "none"} when pinned, {now ?? "none"} now ({why})");
        }
        Differs("spec", pin.Spec, rerun.Spec, "the pin named another spec file");
        Differs("harness version", pin.Harness, rerun.Harness, "every stage key includes it");
        Differs("canonical summary", pin.CanonicalFile, rerun.CanonicalFile, "the phase is pinned by another file now");
        Differs("model", Describe(pin.Model), Describe(rerun.Model), "another checkpoint, or another generated model");
        Differs("dataset", Describe(pin.Dataset), Describe(rerun.Dataset), "another data file or sample");
        var keys = pin.Stages.Keys.Union(rerun.Stages.Keys).Order(StringComparer.Ordinal)
            .Where(s => pin.Stages.GetValueOrDefault(s) != rerun.Stages.GetValueOrDefault(s))
            .Select(s => $"{s} {Short(pin.Stages.GetValueOrDefault(s))} → {Short(rerun.Stages.GetValueOrDefault(s))}").ToList();
        if (keys.Count > 0)
            notes.Add($"stage keys differ from the pin (a field, input, stage version or the harness changed): {string.Join(", ", keys)}");
        return notes;
    }

    private static string Describe(PinnedModel m) =>
        $"{m.Source} {Short(m.Sha256)}" + (m.TokenizerSha256 is { } t ? $" (tokenizer {Short(t)})" : "");

    private static string Describe(PinnedDataset d) =>
        $"{d.Source}, sample {Short(d.SampleSha256)}" + (d.FileSha256 is { } f ? $" of file {Short(f)}" : "");

    private static string Short(string? key) => key is null ? "(none)" : key[..Math.Min(12, key.Length)];

    // audit.json, audit.md and each rerun's summary in pin form (a drifted phase can be diffed against its pin).
    private static string Write(PipelineEnvironment env, ExperimentAudit audit, IReadOnlyList<PinFile> reruns)
    {
        var folder = Path.Combine(env.ExperimentRoot(audit.Experiment), RerunFolder);
        Directory.CreateDirectory(folder);
        foreach (var old in Directory.EnumerateFiles(folder, "*.rerun.json")) File.Delete(old);
        foreach (var rerun in reruns)
            Hashing.WriteAtomic(Path.Combine(folder, $"{rerun.Phase}.rerun.json"), JsonSerializer.Serialize(rerun, Pinning.Json) + "\n");
        Hashing.WriteAtomic(Path.Combine(folder, JsonFile), JsonSerializer.Serialize(audit, Pinning.Json) + "\n");
        Hashing.WriteAtomic(Path.Combine(folder, MarkdownFile), AuditReport.Render(audit));
        return folder;
    }

    // Rerun folders of verify processes that were killed (named <experiment>-<pid>, the pid no longer running).
    private static void RemoveAbandoned(PipelineEnvironment env)
    {
        var parent = Path.Combine(env.ArtifactsRoot, RerunFolder);
        if (!Directory.Exists(parent)) return;
        foreach (var dir in Directory.EnumerateDirectories(parent))
        {
            var name = Path.GetFileName(dir);
            var dash = name.LastIndexOf('-');
            if (dash < 0 || !int.TryParse(name[(dash + 1)..], out var pid) || pid == Environment.ProcessId) continue;
            if (!IsAlive(pid)) DeleteTree(dir);
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    // Deletes a rerun folder whose committed cache entries may be read-only: folders are made writable on the way down;
    // a symbolic link is removed, never followed.
    private static void DeleteTree(string path)
    {
        var info = new DirectoryInfo(path);
        if (!info.Exists) return;
        if (info.LinkTarget is not null)
        {
            info.Delete();
            return;
        }
        const UnixFileMode owner = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, File.GetUnixFileMode(path) | owner);
        foreach (var dir in info.EnumerateDirectories()) DeleteTree(dir.FullName);
        foreach (var file in info.EnumerateFiles())
        {
            if (OperatingSystem.IsWindows()) file.Attributes = FileAttributes.Normal;
            file.Delete();
        }
        info.Delete();
    }
}
