using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Stages;
using CodiLab.Specs;

namespace CodiLab.Pipeline.Features;

/// <summary>The model a pin was made with.</summary>
/// <param name="Source"><c>generated</c> or <c>checkpoint</c>.</param>
/// <param name="Sha256">
/// Checkpoint: the digest of the model folder's files as the <c>extract</c> key holds it; generated: the SHA-256 of the lines
/// "file sha256" of the files the <c>model</c> stage wrote.
/// </param>
/// <param name="TokenizerSha256">The separate tokenizer folder's digest, when the spec names one.</param>
public sealed record PinnedModel(string Source, string Sha256, string? TokenizerSha256);

/// <summary>The data a pin was made with.</summary>
/// <param name="Source"><c>gsm8k</c> or <c>synthetic</c>.</param>
/// <param name="SampleSha256">SHA-256 of the sampled <c>dataset.json</c>.</param>
/// <param name="FileSha256">SHA-256 of the JSONL it was sampled from (gsm8k only).</param>
public sealed record PinnedDataset(string Source, string SampleSha256, string? FileSha256);

/// <summary>
/// <c>experiments/pins/&lt;experiment&gt;/&lt;phase&gt;.json</c>: one finished phase's canonical summary with what it was made
/// from (stage keys, harness version, model and dataset hashes) and the spec to rerun it from.
/// </summary>
/// <param name="Format">The pin format (1).</param>
/// <param name="Experiment">The experiment.</param>
/// <param name="Phase">The phase.</param>
/// <param name="Spec">
/// The spec: <c>default:NAME</c>, or a path relative to the pins folder's repository (<see cref="Pinning.SpecBase"/>).
/// </param>
/// <param name="Harness">The harness version that made it.</param>
/// <param name="CanonicalFile">The canonical summary's file name.</param>
/// <param name="Model">The model's hashes.</param>
/// <param name="Dataset">The data's hashes.</param>
/// <param name="Stages">Every stage the phase needs (its own and upstream) → cache key.</param>
/// <param name="Summary">The canonical summary itself.</param>
public sealed record PinFile(
    int Format, string Experiment, string Phase, string Spec, string Harness, string CanonicalFile, PinnedModel Model,
    PinnedDataset Dataset, SortedDictionary<string, string> Stages, JsonNode Summary);

/// <summary>
/// <c>codilab pin</c>: writes the canonical summaries of an experiment's finished phases as pin files, read back (with clear
/// errors) by <see cref="Auditing"/>. Only a phase whose every stage is cached can be pinned, and the summary is read from
/// its cache entry with its hash checked, never from the readable view (which a hand edit could have changed).
/// </summary>
public static class Pinning
{
    /// <summary>The pins folder when none is named: <c>experiments/pins</c> under the current folder.</summary>
    public const string DefaultFolder = "experiments/pins";

    /// <summary>The pin format written and read.</summary>
    public const int Format = 1;

    /// <summary>
    /// The phases that can be pinned, each with the canonical summary it is pinned by, in phase order. A phase with a
    /// canonical summary becomes pinnable by adding its line here.
    /// </summary>
    public static readonly IReadOnlyList<(string Phase, string File)> CanonicalFiles =
    [
        ("Phase1", Phase1Files.CanonicalSummary),
        ("Phase2", Phase2Files.CanonicalSummary),
        ("Phase3", Phase3Files.CanonicalSummary),
        ("Phase4", Phase4Files.CanonicalSummary),
    ];

    /// <summary>How pin, audit and rerun files are written: indented, snake_case, enums as words, nulls kept.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>The pin file of one phase.</summary>
    public static string PinPath(string pins, string experiment, string phase) => Path.Combine(pins, experiment, $"{phase}.json");

    /// <summary>The canonical summary a phase is pinned by, or null when the phase cannot be pinned.</summary>
    public static string? CanonicalFileOf(string phase) => CanonicalFiles.FirstOrDefault(c => c.Phase == phase).File;

    /// <summary>
    /// The phases to pin: <paramref name="phase"/> alone, or every pinnable phase the spec runs. A phase that does not exist,
    /// cannot be pinned yet or is not run by the spec is an argument error.
    /// </summary>
    public static IReadOnlyList<string> PhasesToPin(ExperimentSpec spec, string? phase)
    {
        var runs = spec.Phases.Select(p => p.Word()).ToList();
        var pinnable = string.Join(", ", CanonicalFiles.Select(c => c.Phase));
        if (phase is null)
        {
            var all = CanonicalFiles.Select(c => c.Phase).Where(runs.Contains).ToList();
            if (all.Count > 0) return all;
            throw new CodiLabException($"experiment '{spec.Name}' runs no phase that can be pinned (it runs {string.Join(", ", runs)}).",
                spec.MarkOf("phases").ToString(), $"add one of {pinnable} to 'phases:'.", ExitCodes.InvalidSpec);
        }
        if (CanonicalFileOf(phase) is null)
        {
            throw new CodiLabException($"'{phase}' cannot be pinned: it has no canonical summary in this version of CodiLab.",
                spec.Reference, $"pin one of {pinnable}.", ExitCodes.InvalidSpec);
        }
        if (!runs.Contains(phase))
        {
            throw new CodiLabException($"experiment '{spec.Name}' does not run {phase} (it runs {string.Join(", ", runs)}).",
                spec.MarkOf("phases").ToString(), $"add {phase} to 'phases:' and run it, or pin one of {string.Join(", ", runs)}.",
                ExitCodes.InvalidSpec);
        }
        return [phase];
    }

    /// <summary>Writes a pin to <c>&lt;pins&gt;/&lt;experiment&gt;/&lt;phase&gt;.json</c> (atomically); returns its path.</summary>
    public static string Write(string pins, PinFile pin)
    {
        var path = PinPath(pins, pin.Experiment, pin.Phase);
        Hashing.WriteAtomic(path, JsonSerializer.Serialize(pin, Json) + "\n");
        return path;
    }

    /// <summary>
    /// A pin of one finished phase as it stands in <paramref name="env"/>'s cache, naming the spec as
    /// <paramref name="reference"/>. An unfinished phase is refused (exit 3, naming the first stage not cached and why).
    /// </summary>
    public static PinFile Capture(ExperimentSpec spec, string phase, PipelineEnvironment env, string reference)
    {
        var file = CanonicalFileOf(phase) ?? throw new ArgumentException($"{phase} has no canonical summary", nameof(phase));
        var plans = StageCatalog.Runner(env).Plan(spec, phase);
        var unfinished = plans.Where(p => p.State != StageState.Cached).ToList();
        if (plans.Count == 0 || unfinished.Count > 0)
        {
            var which = unfinished.Count == 0
                ? "it has no stage"
                : string.Join("; ", unfinished.Select(p => $"{p.Stage.Name}: {p.Status}"));
            throw new CodiLabException($"{phase} of experiment '{spec.Name}' is not finished, so there is nothing to pin ({which}).",
                spec.Reference, $"run it first ('codilab run {spec.Reference} --phase {phase}', or 'codilab pin --run'), then pin it.",
                ExitCodes.BadInput);
        }
        var byName = plans.ToDictionary(p => p.Stage.Name);
        var owner = plans.Single(p => p.Stage.Phase == phase && p.Stage.Outputs.Contains(file));
        return new PinFile(Format, spec.Name, phase, reference, env.HarnessVersion, file, Model(spec, byName),
            Dataset(spec, byName["sample"]), new SortedDictionary<string, string>(plans.ToDictionary(p => p.Stage.Name, p => p.Key!),
                StringComparer.Ordinal), ReadVerified(env, owner, file));
    }

    // Bytes are checked where they are used: the summary must hash to what the entry's manifest records.
    private static JsonNode ReadVerified(PipelineEnvironment env, StagePlan owner, string file)
    {
        var path = Path.Combine(new ArtifactCache(env.CacheRoot).EntryPath(owner.Key!), file);
        var expected = owner.Entry!.Files[file].Sha256;
        var bytes = File.ReadAllBytes(path);
        var actual = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        if (actual != expected)
        {
            throw new CodiLabException($"corrupt cache entry: {file} hashes to {actual[..12]}…, its manifest says {expected[..12]}….",
                path, "run 'codilab verify' (it quarantines the entry), run the phase again, then pin it.", ExitCodes.Corrupt);
        }
        return JsonNode.Parse(bytes) ?? throw new CodiLabException($"{file} holds null.", path,
            "run 'codilab verify', run the phase again, then pin it.", ExitCodes.Corrupt);
    }

    private static PinnedModel Model(ExperimentSpec spec, IReadOnlyDictionary<string, StagePlan> plans)
    {
        // Phase 1-3 pins read the model through extract; a Phase 4 pin through p4-extract (same model stage, same inputs).
        var extract = plans.GetValueOrDefault("extract") ?? plans["p4-extract"];
        var tokenizer = extract.Inputs.GetValueOrDefault("tokenizer");
        if (!spec.Model.IsGenerated) return new PinnedModel("checkpoint", extract.Inputs["model"], tokenizer);
        var lines = plans["model"].Entry!.Files.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key} {f.Value.Sha256}");
        return new PinnedModel("generated", Hashing.Sha256(string.Join("\n", lines)), tokenizer);
    }

    private static PinnedDataset Dataset(ExperimentSpec spec, StagePlan sample) =>
        new(spec.Dataset.Source.Word(), sample.Entry!.Files[Phase1Files.Dataset].Sha256, sample.Inputs.GetValueOrDefault("dataset"));

    /// <summary>
    /// The folder spec paths in pins are relative to: the repository holding the pins folder (the nearest folder above it
    /// with a <c>.git</c>), else the pins folder itself, so a pinned spec is found again from any current folder.
    /// </summary>
    public static string SpecBase(string pins)
    {
        var full = Path.GetFullPath(pins);
        for (var dir = new DirectoryInfo(full); dir is not null; dir = dir.Parent)
        {
            // A clone has a .git folder, a worktree or submodule a .git file.
            var git = Path.Combine(dir.FullName, ".git");
            if (Directory.Exists(git) || File.Exists(git)) return dir.FullName;
        }
        return full;
    }

    /// <summary>How a pin names a spec: embedded references as they are, files relative to <see cref="SpecBase"/> with '/'.</summary>
    public static string SpecReference(string reference, string pins) =>
        SpecLoader.IsEmbedded(reference)
            ? reference
            : Path.GetRelativePath(SpecBase(pins), Path.GetFullPath(reference)).Replace('\\', '/');

    /// <summary>The spec a pin names, as a reference <see cref="SpecLoader.Load"/> takes.</summary>
    public static string ResolveSpec(string stored, string pins) =>
        SpecLoader.IsEmbedded(stored) ? stored : Path.GetFullPath(Path.Combine(SpecBase(pins), stored));
}
