using System.Text.Json;
using System.Text.Json.Nodes;
using CodiLab.Analysis;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Features;
using CodiLab.Pipeline.Stages;
using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Pipeline;

/// <summary>
/// One small experiment (the tiny LLaMA default on 8 problems, with a spec-set audit tolerance of 0.01) run once through
/// Phase 1 and Phase 2 and pinned; each test audits a copy of those pins.
/// </summary>
public sealed class PinnedExperiment : IDisposable
{
    /// <summary>Runs and pins it.</summary>
    public PinnedExperiment()
    {
        var spec = Dir.Write("pin-test.yaml",
            "extends: default:tiny-llama\nname: pin-test\nphases: [Phase1, Phase2]\ndataset: { sample: 8 }\naudit: { tolerance: 0.01, relative_tolerance: 0 }\n");
        Spec = SpecLoader.Load(spec);
        var runner = StageCatalog.Runner(Env);
        runner.Run(Spec, "Phase1");
        runner.Run(Spec, "Phase2");
        Pins = Path.Combine(Dir.Path, "pins");
        foreach (var phase in Pinning.PhasesToPin(Spec, null))
            Pinning.Write(Pins, Pinning.Capture(Spec, phase, Env, Pinning.SpecReference(Spec.Reference, Pins)));
    }

    /// <summary>The folder holding the spec, artifacts and pins.</summary>
    public TempFolder Dir { get; } = new();

    /// <summary>The experiment's environment (harness version "test").</summary>
    public PipelineEnvironment Env => new(Path.Combine(Dir.Path, "artifacts"), Path.Combine(Dir.Path, "data"), TextWriter.Null, "test");

    /// <summary>The spec.</summary>
    public ExperimentSpec Spec { get; }

    /// <summary>The pins written by <c>codilab pin</c>'s code.</summary>
    public string Pins { get; }

    /// <inheritdoc />
    public void Dispose() => Dir.Dispose();
}

public sealed class PinAuditTests(PinnedExperiment fixture) : IClassFixture<PinnedExperiment>
{
    private readonly PinnedExperiment _x = fixture;

    private string ExperimentRoot => _x.Env.ExperimentRoot("pin-test");

    // A copy of the pins in a folder of its own, optionally edited, audited; returns the audit.
    private ExperimentAudit Audit(Action<JsonObject>? editPhase1 = null)
    {
        var pins = Path.Combine(_x.Dir.Path, "pins-" + Guid.NewGuid().ToString("N")[..8]);
        foreach (var file in Directory.GetFiles(Path.Combine(_x.Pins, "pin-test")))
        {
            var target = Path.Combine(pins, "pin-test", Path.GetFileName(file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var json = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
            if (Path.GetFileName(file) == "Phase1.json") editPhase1?.Invoke(json);
            File.WriteAllText(target, json.ToJsonString());
        }
        var target1 = Assert.Single(Auditing.Targets(pins, [_x.Spec.Reference]));
        return Auditing.Run(target1, _x.Env, pins).Audit;
    }

    [Fact]
    public void Pin_writes_each_finished_phase_with_its_stage_keys_harness_model_and_dataset_hashes_and_summary()
    {
        var lockFile = LockFile.Read(ExperimentRoot, "pin-test", _x.Spec.Reference);
        foreach (var phase in new[] { "Phase1", "Phase2" })
        {
            var pin = Auditing.ReadPin(Path.Combine(_x.Pins, "pin-test", $"{phase}.json"));
            Assert.Equal(("pin-test", phase, "test", 1), (pin.Experiment, pin.Phase, pin.Harness, pin.Format));
            Assert.Equal(Path.GetRelativePath(Path.Combine(_x.Dir.Path, "pins"), Path.Combine(_x.Dir.Path, "pin-test.yaml")), pin.Spec);
            foreach (var (stage, key) in pin.Stages) Assert.Equal(lockFile.Stages[stage].Key, key);
            Assert.Contains("extract", pin.Stages.Keys);
            Assert.Equal(phase == "Phase2", pin.Stages.ContainsKey("heads"));
            Assert.Equal(lockFile.Stages["sample"].Outputs[Phase1Files.Dataset].Sha256, pin.Dataset.SampleSha256);
            Assert.Equal("synthetic", pin.Dataset.Source);
            Assert.Null(pin.Dataset.FileSha256);
            var model = lockFile.Stages["model"].Outputs.Select(o => $"{o.Key} {o.Value.Sha256}");
            Assert.Equal(("generated", Hashing.Sha256(string.Join("\n", model))), (pin.Model.Source, pin.Model.Sha256));
            var view = File.ReadAllText(Path.Combine(ExperimentRoot, phase, Pinning.CanonicalFileOf(phase)!));
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(view), pin.Summary), $"{phase}: the pinned summary is not the phase's");
        }
    }

    [Fact]
    public void Verify_of_a_fresh_pin_passes_and_writes_audit_json_and_md()
    {
        var audit = Audit();

        Assert.True(audit.Passed);
        Assert.Equal(["Phase1", "Phase2"], audit.Phases.Select(p => p.Phase));
        Assert.All(audit.Phases, p => Assert.True(p.Fields > 50 && p.Drifted == 0 && p.Notes.Count == 0, $"{p.Phase}: {p.Fields}"));
        var folder = Path.Combine(ExperimentRoot, "audit");
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, Auditing.JsonFile)))!;
        Assert.True(json["passed"]!.GetValue<bool>());
        Assert.Equal("ok", json["phases"]![0]!["rows"]![0]!["verdict"]!.GetValue<string>());
        Assert.StartsWith("# Audit of pin-test: PASS", File.ReadAllText(Path.Combine(folder, Auditing.MarkdownFile)), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(folder, "Phase2.rerun.json")));
    }

    [Fact]
    public void A_delta_below_the_spec_tolerance_passes_and_changed_keys_and_harness_are_noted()
    {
        // 0.005 is beyond the default tolerance for a value below 4.5, but within this spec's audit.tolerance 0.01.
        const string field = "seed.attention_summary.hub_analysis.hub_score";
        double pinned = 0;
        var audit = Audit(pin =>
        {
            var hub = pin["summary"]!["seed"]!["attention_summary"]!["hub_analysis"]!.AsObject();
            pinned = CanonicalJson.NumberOf(hub["hub_score"])!.Value;
            hub["hub_score"] = pinned + 0.005;
            pin["harness"] = "0.0.1";
            pin["stages"]!["extract"] = new string('0', 64);
        });

        Assert.True(audit.Passed);
        Assert.Equal(new AuditTolerance(0.01, 0), audit.Tolerance);
        var phase1 = audit.Phases[0];
        var row = phase1.Rows.Single(r => r.Field == field);
        Assert.Equal((AuditVerdict.Ok, -0.005), (row.Verdict, Math.Round(row.Delta!.Value, 6)));
        Assert.True(pinned < 4.5, $"hub score {pinned} would pass the default tolerance too");
        Assert.Contains(phase1.Notes, n => n.StartsWith("harness version: 0.0.1 when pinned, test now", StringComparison.Ordinal));
        Assert.Contains(phase1.Notes, n => n.Contains("extract 000000000000 → ", StringComparison.Ordinal));
        Assert.Empty(audit.Phases[1].Notes);
    }

    [Fact]
    public void The_rerun_is_isolated_it_neither_reads_nor_writes_the_main_cache()
    {
        // Poison the main cache: the analyze entry's canonical summary says something else, with a manifest to match, so a
        // rerun that reused it would report drift. The rerun must compute its own and leave the cache exactly as it was.
        var cache = new ArtifactCache(_x.Env.CacheRoot);
        var analyze = LockFile.Read(ExperimentRoot, "pin-test", _x.Spec.Reference).Stages["analyze"].Key;
        var entry = cache.EntryPath(analyze);
        var summary = Path.Combine(entry, Phase1Files.CanonicalSummary);
        var original = File.ReadAllText(summary);
        var poisoned = JsonNode.Parse(original)!;
        poisoned["seed"]!["attention_summary"]!["hub_analysis"]!["hub_score"] = 3.0;
        try
        {
            Rewrite(entry, Phase1Files.CanonicalSummary, poisoned.ToJsonString());
            var before = Snapshot(_x.Env.CacheRoot);

            var audit = Audit();

            Assert.True(audit.Passed, "the rerun read the poisoned main cache");
            Assert.Equal(before, Snapshot(_x.Env.CacheRoot));
            var reruns = Path.Combine(_x.Env.ArtifactsRoot, Auditing.RerunFolder);
            Assert.True(!Directory.Exists(reruns) || Directory.GetFileSystemEntries(reruns).Length == 0, "the rerun folder was left behind");
        }
        finally
        {
            Rewrite(entry, Phase1Files.CanonicalSummary, original);
        }
    }

    [Fact]
    public void A_pinned_spec_path_is_relative_to_the_repository_holding_the_pins_and_found_again_from_it()
    {
        var repo = Path.Combine(_x.Dir.Path, "repo");
        Directory.CreateDirectory(Path.Combine(repo, ".git"));
        var pins = Path.Combine(repo, "experiments", "pins");
        var spec = Path.Combine(repo, "experiments", "x.yaml");

        var stored = Pinning.SpecReference(spec, pins);

        Assert.Equal("experiments/x.yaml", stored);
        Assert.Equal(spec, Pinning.ResolveSpec(stored, pins));
        Assert.Equal("default:tiny-gpt2", Pinning.SpecReference("default:tiny-gpt2", pins));
        // Outside any repository the pins folder itself is the base.
        Assert.Equal("../pin-test.yaml", Pinning.SpecReference(Path.Combine(_x.Dir.Path, "pin-test.yaml"), _x.Pins));
    }

    // Replaces one file of an entry and its manifest line, so the entry stays self-consistent.
    private static void Rewrite(string entry, string file, string text)
    {
        const UnixFileMode rw = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(entry, rw);
            foreach (var f in new[] { file, ArtifactCache.ManifestName }) File.SetUnixFileMode(Path.Combine(entry, f), rw);
        }
        File.WriteAllText(Path.Combine(entry, file), text);
        var manifestPath = Path.Combine(entry, ArtifactCache.ManifestName);
        var manifest = JsonSerializer.Deserialize<CacheManifest>(File.ReadAllText(manifestPath), Hashing.Json)!;
        manifest.Files[file] = Hashing.File(Path.Combine(entry, file));
        File.WriteAllText(manifestPath, JsonSerializer.Serialize(manifest, Hashing.Json));
    }

    // Every file under the cache with its size, hash and last write time.
    private static List<string> Snapshot(string root) =>
        [.. Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => $"{Path.GetRelativePath(root, f)} {Hashing.File(f)} {File.GetLastWriteTimeUtc(f):O}")];
}
