using CodiLab.Pipeline.Engine;
using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Pipeline;

/// <summary>
/// <c>clean</c> deletes only what the harness owns: never the data root (wherever it lies), never through a symbolic
/// link, never outside the artifacts root; and an experiment cannot take the name of a harness folder.
/// </summary>
public sealed class HousekeepingTests : IDisposable
{
    private const string SpecBody = "model:\n  arch: llama\n  source: generated\ndataset:\n  source: synthetic\n  size: 40\n  sample: 10\n";
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Artifacts => Path.Combine(_dir.Path, "artifacts");

    private PipelineEnvironment Env(string dataRoot) => new(Artifacts, dataRoot, new StringWriter(), "test");

    private sealed record SeedParameters([property: SpecField("seed")] long Seed);

    private static IReadOnlyList<Stage> Graph(ExperimentSpec _) =>
    [
        Stage.Create("alpha", "Phase1", 1, s => new SeedParameters(s.Seed), [], ["a.txt"],
            (ctx, p) => File.WriteAllText(ctx.Output("a.txt"), $"{p.Seed}")),
    ];

    /// <summary>Runs a one-stage experiment, so that its folder, lock.json and a cache entry exist.</summary>
    private void Run(PipelineEnvironment env, string name)
    {
        new PipelineRunner(env, Graph).Run(SpecLoader.Load(_dir.Write($"{name}.yaml", $"name: {name}\n" + SpecBody)));
        Assert.True(File.Exists(Path.Combine(Artifacts, name, "lock.json")));
    }

    private string WriteData(string dataRoot) => _dir.Write(Path.Combine(dataRoot, "gsm8k", "train.jsonl"), "{\"question\": \"q\"}\n");

    private static void CleanAll(PipelineEnvironment env)
    {
        foreach (var name in Housekeeping.Experiments(env).ToList()) Housekeeping.CleanExperiment(env, name);
        Housekeeping.CleanCache(env);
    }

    [Fact]
    public void Clean_all_keeps_the_default_data_root_inside_the_artifacts_root()
    {
        var env = Env(Path.Combine(Artifacts, "data"));
        var data = WriteData(env.DataRoot);
        Run(env, "exp");
        Directory.CreateDirectory(Path.Combine(Artifacts, "compare", "a-vs-b"));

        CleanAll(env);

        Assert.True(File.Exists(data));
        Assert.Equal(["data"], Directory.GetFileSystemEntries(Artifacts).Select(Path.GetFileName));
    }

    [Fact]
    public void Clean_of_an_experiment_keeps_a_data_root_inside_its_folder()
    {
        var env = Env(Path.Combine(Artifacts, "exp", "data"));
        var data = WriteData(env.DataRoot);
        Run(env, "exp");

        var done = Housekeeping.CleanExperiment(env, "exp");

        Assert.True(File.Exists(data));
        Assert.Equal(["data"], Directory.GetFileSystemEntries(Path.Combine(Artifacts, "exp")).Select(Path.GetFileName));
        Assert.Contains("kept the data root", done, StringComparison.Ordinal);
    }

    [Fact]
    public void Clean_all_keeps_a_data_root_inside_the_cache()
    {
        var env = Env(Path.Combine(Artifacts, "cache", "mine"));
        var data = WriteData(env.DataRoot);
        Run(env, "exp");

        CleanAll(env);

        Assert.True(File.Exists(data));
        Assert.Equal(["mine"], Directory.GetFileSystemEntries(env.CacheRoot).Select(Path.GetFileName));
    }

    [Fact]
    public void Data_root_named_through_a_link_is_still_recognised_inside_the_experiment()
    {
        Directory.CreateDirectory(Path.Combine(Artifacts, "exp"));
        Directory.CreateSymbolicLink(Path.Combine(_dir.Path, "via"), Path.Combine(Artifacts, "exp"));
        var env = Env(Path.Combine(_dir.Path, "via", "data"));
        var data = WriteData(Path.Combine(Artifacts, "exp", "data"));
        Run(env, "exp");

        Housekeeping.CleanExperiment(env, "exp");

        Assert.True(File.Exists(data));
        Assert.False(File.Exists(Path.Combine(Artifacts, "exp", "lock.json")));
    }

    [Fact]
    public void Linked_experiment_folder_is_unlinked_and_its_target_survives()
    {
        var env = Env(Path.Combine(_dir.Path, "data"));
        var target = Path.Combine(_dir.Path, "elsewhere");
        var kept = _dir.Write(Path.Combine("elsewhere", "lock.json"), "{}");
        _dir.Write(Path.Combine("elsewhere", "Phase1", "report.md"), "precious");
        Directory.CreateDirectory(Artifacts);
        var link = Path.Combine(Artifacts, "exp");
        Directory.CreateSymbolicLink(link, target);

        Assert.Equal(["exp"], Housekeeping.Experiments(env));
        var done = Housekeeping.CleanExperiment(env, "exp");

        Assert.False(Path.Exists(link));
        Assert.True(File.Exists(kept));
        Assert.Equal("precious", File.ReadAllText(Path.Combine(target, "Phase1", "report.md")));
        Assert.Contains("left as it is", done, StringComparison.Ordinal);
    }

    [Fact]
    public void Link_inside_an_experiment_folder_is_removed_without_following_it()
    {
        var env = Env(Path.Combine(_dir.Path, "data"));
        Run(env, "exp");
        var outside = _dir.Write(Path.Combine("outside", "model.safetensors"), "weights");
        Directory.CreateSymbolicLink(Path.Combine(Artifacts, "exp", "Phase1", "model"), Path.GetDirectoryName(outside)!);

        Housekeeping.CleanExperiment(env, "exp");

        Assert.False(Path.Exists(Path.Combine(Artifacts, "exp")));
        Assert.Equal("weights", File.ReadAllText(outside));
    }

    [Fact]
    public void Linked_cache_and_compare_folders_are_unlinked_and_their_targets_survive()
    {
        var env = Env(Path.Combine(_dir.Path, "data"));
        var cacheFile = _dir.Write(Path.Combine("shared-cache", "entry", "a.txt"), "x");
        var compareFile = _dir.Write(Path.Combine("shared-compare", "a-vs-b", "compare.md"), "y");
        Directory.CreateDirectory(Artifacts);
        Directory.CreateSymbolicLink(env.CacheRoot, Path.Combine(_dir.Path, "shared-cache"));
        Directory.CreateSymbolicLink(Path.Combine(Artifacts, "compare"), Path.Combine(_dir.Path, "shared-compare"));

        var done = Housekeeping.CleanCache(env);

        Assert.Equal(2, done.Count);
        Assert.Empty(Directory.GetFileSystemEntries(Artifacts));
        Assert.True(File.Exists(cacheFile));
        Assert.True(File.Exists(compareFile));
    }

    [Theory]
    [InlineData("cache")]
    [InlineData("data")]
    [InlineData("compare")]
    [InlineData("../outside")]
    [InlineData("..")]
    [InlineData("")]
    public void Clean_refuses_a_reserved_name_or_one_reaching_outside_its_folder(string name)
    {
        var env = Env(Path.Combine(Artifacts, "data"));
        var data = WriteData(env.DataRoot);
        var outside = _dir.Write(Path.Combine("outside", "keep.txt"), "mine");
        Run(env, "exp");

        var error = Assert.Throws<CodiLabException>(() => Housekeeping.CleanExperiment(env, name));

        Assert.Equal(ExitCodes.InvalidSpec, error.ExitCode);
        Assert.True(File.Exists(data));
        Assert.True(File.Exists(outside));
        Assert.True(File.Exists(Path.Combine(Artifacts, "exp", "lock.json")));
    }

    [Fact]
    public void A_harness_folder_holding_a_lock_file_is_not_an_experiment()
    {
        var env = Env(Path.Combine(Artifacts, "data"));
        _dir.Write(Path.Combine("artifacts", "data", "lock.json"), "{}");
        _dir.Write(Path.Combine("artifacts", "cache", "lock.json"), "{}");
        Run(env, "exp");

        Assert.Equal(["exp"], Housekeeping.Experiments(env));
    }

    [Theory]
    [InlineData("data")]
    [InlineData("cache")]
    [InlineData("compare")]
    public void Spec_named_after_a_harness_folder_is_refused_before_anything_is_written(string name)
    {
        var env = Env(Path.Combine(Artifacts, "data"));
        var spec = _dir.Write("exp.yaml", $"name: {name}\n" + SpecBody);

        var error = Assert.Throws<SpecException>(() => new PipelineRunner(env, Graph).Run(SpecLoader.Load(spec)));

        Assert.Equal(ExitCodes.InvalidSpec, error.ExitCode);
        Assert.Equal((spec, 1, 7), (error.Diagnostics[0].Mark.File, error.Diagnostics[0].Mark.Line, error.Diagnostics[0].Mark.Column));
        Assert.False(Directory.Exists(Artifacts));
    }

    [Fact]
    public void Clean_all_removes_a_cache_entry_made_read_only()
    {
        if (OperatingSystem.IsWindows()) return;
        var env = Env(Path.Combine(_dir.Path, "data"));
        Run(env, "exp");
        var entry = Directory.GetDirectories(env.CacheRoot).Single(d => !Path.GetFileName(d).StartsWith('.'));
        File.SetUnixFileMode(entry, UnixFileMode.UserRead | UnixFileMode.UserExecute);

        CleanAll(env);

        Assert.Empty(Directory.GetFileSystemEntries(Artifacts));
    }
}
