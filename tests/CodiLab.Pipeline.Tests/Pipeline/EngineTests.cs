using System.Text.Json;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Stages;
using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Pipeline;

/// <summary>The stage engine on a two-stage test graph and on the real catalogue.</summary>
public sealed class EngineTests : IDisposable
{
    private const string SpecText = "name: exp\nmodel:\n  arch: llama\n  source: generated\ndataset:\n  source: synthetic\n  size: 40\n  sample: 10\nanalysis:\n  top_heads: 20\n  skip_threshold: 0.1\n";
    private readonly TempFolder _dir = new();
    private readonly StringWriter _log = new();
    private readonly List<string> _executed = [];
    private Action<StageContext>? _betaHook;

    public void Dispose() => _dir.Dispose();

    private PipelineEnvironment Env(string harness = "test") =>
        new(Path.Combine(_dir.Path, "artifacts"), Path.Combine(_dir.Path, "data"), _log, harness);

    private string WriteSpec(string text = SpecText) => _dir.Write("exp.yaml", text);

    private ExperimentSpec Spec(string text = SpecText) => SpecLoader.Load(WriteSpec(text));

    private sealed record AlphaParameters([property: SpecField("analysis.top_heads")] int TopHeads);

    private sealed record BetaParameters([property: SpecField("analysis.skip_threshold")] double SkipThreshold);

    // alpha reads analysis.top_heads; beta reads analysis.skip_threshold and alpha's output.
    private IReadOnlyList<Stage> Graph(ExperimentSpec _) =>
    [
        Stage.Create("alpha", "Phase1", 1, s => new AlphaParameters(s.Analysis.TopHeads), [], ["a.txt"], (ctx, p) =>
        {
            _executed.Add("alpha");
            File.WriteAllText(ctx.Output("a.txt"), $"top={p.TopHeads}");
        }),
        Stage.Create("beta", "Phase1", 1, s => new BetaParameters(s.Analysis.SkipThreshold), ["alpha"], ["b.txt"], (ctx, p) =>
        {
            _executed.Add("beta");
            _betaHook?.Invoke(ctx);
            var skip = p.SkipThreshold.ToString(System.Globalization.CultureInfo.InvariantCulture);
            File.WriteAllText(ctx.Output("b.txt"), File.ReadAllText(ctx.Input("alpha", "a.txt")) + $" skip={skip}");
        }),
    ];

    private PipelineRunner Runner(string harness = "test") => new(Env(harness), Graph);

    private Dictionary<string, string> Statuses(PipelineRunner runner, ExperimentSpec spec) =>
        runner.Plan(spec).ToDictionary(p => p.Stage.Name, p => p.Status);

    [Fact]
    public void Second_run_reuses_every_stage()
    {
        var spec = Spec();
        Runner().Run(spec);

        var outcomes = Runner().Run(spec);

        Assert.Equal(["alpha", "beta"], _executed);
        Assert.All(outcomes, o => Assert.False(o.Executed));
        Assert.Equal("top=20 skip=0.1", File.ReadAllText(Path.Combine(_dir.Path, "artifacts", "exp", "Phase1", "b.txt")));
        var lockJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir.Path, "artifacts", "exp", "lock.json")));
        Assert.Equal(outcomes[1].Key, lockJson.RootElement.GetProperty("stages").GetProperty("beta").GetProperty("key").GetString());
        Assert.True(File.Exists(Path.Combine(_dir.Path, "artifacts", "exp", "provenance.json")));
    }

    [Fact]
    public void Plan_before_any_run_says_missing()
    {
        Assert.Equal(new Dictionary<string, string> { ["alpha"] = "missing", ["beta"] = "missing" }, Statuses(Runner(), Spec()));
    }

    [Fact]
    public void Changing_an_upstream_field_makes_it_and_its_dependents_stale()
    {
        Runner().Run(Spec());

        var plan = Statuses(Runner(), Spec(SpecText.Replace("top_heads: 20", "top_heads: 5")));

        Assert.Equal("stale: param analysis.top_heads 20→5", plan["alpha"]);
        Assert.Equal("stale: upstream alpha", plan["beta"]);
    }

    [Fact]
    public void Changing_a_downstream_field_leaves_upstream_cached()
    {
        Runner().Run(Spec());

        var plan = Statuses(Runner(), Spec(SpecText.Replace("skip_threshold: 0.1", "skip_threshold: 0.2")));

        Assert.Equal("cached", plan["alpha"]);
        Assert.Equal("stale: param analysis.skip_threshold 0.1→0.2", plan["beta"]);
    }

    [Fact]
    public void Reverting_a_change_finds_the_old_entries_cached()
    {
        Runner().Run(Spec());
        Runner().Run(Spec(SpecText.Replace("top_heads: 20", "top_heads: 5")));
        _executed.Clear();

        Runner().Run(Spec());

        Assert.Empty(_executed);
    }

    [Fact]
    public void New_harness_version_makes_stages_stale_with_the_reason()
    {
        Runner("1.0").Run(Spec());

        Assert.Equal("stale: harness 1.0→2.0", Statuses(Runner("2.0"), Spec())["alpha"]);
    }

    [Fact]
    public void Sample_stage_goes_stale_when_dataset_sample_changes()
    {
        var env = Env();
        StageCatalog.Runner(env).Run(Spec());

        var plan = StageCatalog.Runner(env).Plan(Spec(SpecText.Replace("sample: 10", "sample: 12"))).ToDictionary(p => p.Stage.Name, p => p.Status);

        // Exactly the stages that depend on the sample go stale, each with its reason; the generated model does not.
        Assert.Equal("stale: param dataset.sample 10→12", plan["sample"]);
        Assert.Equal("cached", plan["model"]);
        Assert.Equal("stale: upstream sample", plan["extract"]);
        Assert.Equal("stale: upstream extract", plan["aggregate"]);
        Assert.Equal("stale: upstream extract; upstream aggregate", plan["analyze"]);
        Assert.StartsWith("stale: param dataset.sample 10→12; upstream sample", plan["report"], StringComparison.Ordinal); // the report prints the sample size
    }

    [Fact]
    public void Verify_finds_a_corrupted_file_and_the_next_run_rebuilds_it()
    {
        var spec = Spec();
        var first = Runner().Run(spec);
        var entry = Path.Combine(_dir.Path, "artifacts", "cache", first[0].Key);
        Tamper.Write(Path.Combine(entry, "a.txt"), "top=99");

        var checks = new ArtifactCache(Env().CacheRoot).Verify();

        var bad = Assert.Single(checks, c => c.Problem is not null);
        Assert.Equal(("alpha", first[0].Key), (bad.Stage, bad.Key));
        Assert.False(Directory.Exists(entry));
        Assert.Single(Directory.GetDirectories(Path.Combine(_dir.Path, "artifacts", "cache", ".corrupt")));
        Assert.StartsWith("stale: cache entry missing", Statuses(Runner(), spec)["alpha"], StringComparison.Ordinal);
        _executed.Clear();
        var second = Runner().Run(spec);
        Assert.Equal(["alpha"], _executed);
        Assert.Equal(first[0].Key, second[0].Key);
        Assert.Equal("top=20", File.ReadAllText(Path.Combine(entry, "a.txt")));
    }

    [Fact]
    public void Same_size_corruption_of_an_upstream_entry_stops_the_stage_that_would_read_it()
    {
        // Given a finished run whose alpha entry is then altered in place, keeping its size (its view stays current),
        var spec = Spec();
        var first = Runner().Run(spec);
        var entry = Path.Combine(_dir.Path, "artifacts", "cache", first[0].Key);
        Tamper.Write(Path.Combine(entry, "a.txt"), "top=99");

        // when a change makes beta read it again,
        var changed = Spec(SpecText.Replace("skip_threshold: 0.1", "skip_threshold: 0.2"));
        var error = Assert.Throws<CodiLabException>(() => Runner().Run(changed));

        // then beta never runs on it: the entry is quarantined with a clear error, and the next run rebuilds alpha.
        Assert.Equal(ExitCodes.Corrupt, error.ExitCode);
        Assert.StartsWith("corrupt cache entry: the 'alpha' entry", error.What, StringComparison.Ordinal);
        Assert.False(Directory.Exists(entry));
        _executed.Clear();
        Runner().Run(changed);
        Assert.Equal(["alpha", "beta"], _executed);
        Assert.Equal("top=20 skip=0.2", File.ReadAllText(Path.Combine(_dir.Path, "artifacts", "exp", "Phase1", "b.txt")));
    }

    [Fact]
    public void Corrupt_entry_is_never_copied_into_the_view()
    {
        var spec = Spec();
        var first = Runner().Run(spec);
        var view = Path.Combine(_dir.Path, "artifacts", "exp", "Phase1", "a.txt");
        File.Delete(view);
        Tamper.Write(Path.Combine(_dir.Path, "artifacts", "cache", first[0].Key, "a.txt"), "top=66");
        _executed.Clear();

        Runner().Run(spec);

        Assert.Equal(["alpha"], _executed);
        Assert.Equal("top=20", File.ReadAllText(view));
    }

    [Fact]
    public void Failed_stage_leaves_no_entry_and_keeps_finished_stages()
    {
        var spec = Spec();
        Runner().Run(spec);
        var changed = Spec(SpecText.Replace("skip_threshold: 0.1", "skip_threshold: 0.3").Replace("top_heads: 20", "top_heads: 3"));
        _betaHook = ctx =>
        {
            File.WriteAllText(ctx.Output("b.txt"), "half");
            throw new IOException("disk full (simulated)");
        };

        Assert.Throws<IOException>(() => Runner().Run(changed));

        var cache = Path.Combine(_dir.Path, "artifacts", "cache");
        Assert.Equal(3, Directory.GetDirectories(cache).Count(d => !Path.GetFileName(d).StartsWith('.')));
        Assert.Empty(Directory.GetDirectories(Path.Combine(cache, ".tmp")));
        Assert.Equal("top=20 skip=0.1", File.ReadAllText(Path.Combine(_dir.Path, "artifacts", "exp", "Phase1", "b.txt")));
        _betaHook = null;
        var plan = Statuses(Runner(), changed);
        Assert.Equal("cached", plan["alpha"]);
        Assert.Equal("stale: param analysis.skip_threshold 0.1→0.3; upstream alpha", plan["beta"]);
    }

    [Fact]
    public void Temp_folder_of_a_killed_run_is_removed_by_the_next_run()
    {
        var abandoned = Path.Combine(_dir.Path, "artifacts", "cache", ".tmp", "999999999-deadbeef");
        Directory.CreateDirectory(abandoned);
        File.WriteAllText(Path.Combine(abandoned, "a.txt"), "partial");

        Runner().Run(Spec());

        Assert.False(Directory.Exists(abandoned));
    }

    [Fact]
    public void Second_concurrent_run_of_one_experiment_fails_clearly()
    {
        var spec = Spec();
        using var held = ExperimentLock.Acquire(Path.Combine(_dir.Path, "artifacts", "exp"), "exp", TimeSpan.Zero);

        var error = Assert.Throws<CodiLabException>(() => Runner().Run(spec));

        Assert.Equal(ExitCodes.Busy, error.ExitCode);
        Assert.Contains("another CodiLab run is working on experiment 'exp'", error.What, StringComparison.Ordinal);
        Assert.Empty(_executed);
    }

    [Fact]
    public void Force_reruns_only_the_targeted_stage()
    {
        var spec = Spec();
        Runner().Run(spec);
        _executed.Clear();

        Runner().Run(spec, stageName: "beta", force: true);

        Assert.Equal(["beta"], _executed);
    }

    [Fact]
    public void Stage_selection_pulls_in_upstream_stages()
    {
        var outcomes = Runner().Run(Spec(), stageName: "beta");

        Assert.Equal(["alpha", "beta"], outcomes.Select(o => o.Stage));
    }

    [Fact]
    public void Unknown_stage_lists_the_known_ones()
    {
        var error = Assert.Throws<CodiLabException>(() => Runner().Run(Spec(), stageName: "gamma"));

        Assert.Contains("alpha, beta", error.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Dataset_with_a_wrong_hash_fails_before_anything_is_written()
    {
        _dir.Write("data/gsm8k/train.jsonl", "{\"question\": \"q\", \"answer\": \"#### 1\"}\n");
        var spec = Spec("name: exp\nmodel:\n  arch: llama\n  source: generated\ndataset:\n  source: gsm8k\n  sample: 1\n");

        var error = Assert.Throws<CodiLabException>(() => StageCatalog.Runner(Env()).Run(spec));

        Assert.Equal(ExitCodes.BadInput, error.ExitCode);
        Assert.Contains("has SHA-256", error.What, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "artifacts")));
    }

    [Fact]
    public void Missing_dataset_points_at_the_dataset_path_line()
    {
        var path = WriteSpec("name: exp\nmodel:\n  arch: llama\n  source: generated\ndataset:\n  source: gsm8k\n  path: gsm8k/absent.jsonl\n");

        var error = Assert.Throws<CodiLabException>(() => StageCatalog.Runner(Env()).Run(SpecLoader.Load(path)));

        Assert.Equal($"{path}:7:9", error.Where);
        Assert.Contains("CODILAB_DATA_DIR", error.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Matching_dataset_hash_is_accepted_and_recorded_as_an_input()
    {
        var data = _dir.Write("data/gsm8k/train.jsonl", "{\"question\": \"q0\", \"answer\": \"#### 1\"}\n{\"question\": \"q1\", \"answer\": \"#### 2\"}\n");
        var sha = CodiLab.Pipeline.Data.Gsm8k.Sha256(data);
        var spec = Spec($"name: exp\nmodel:\n  arch: llama\n  source: generated\ndataset:\n  source: gsm8k\n  sha256: {sha}\n  sample: 2\n");

        var outcome = Assert.Single(StageCatalog.Runner(Env()).Run(spec, stageName: "sample"));

        Assert.Equal(SampleStage.Definition.Name, outcome.Stage);
        var lockJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir.Path, "artifacts", "exp", "lock.json")));
        Assert.Equal(sha, lockJson.RootElement.GetProperty("stages").GetProperty("sample").GetProperty("inputs").GetProperty("dataset").GetString());
        Assert.Contains("\"gsm8k_id\": \"train_1\"", File.ReadAllText(outcome.ViewFiles[0]), StringComparison.Ordinal);
    }
}
