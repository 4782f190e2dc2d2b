using System.Collections.Concurrent;
using CodiLab.Pipeline.Engine;
using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Pipeline;

/// <summary>
/// The audit trail cannot be fooled: committed entries are read-only, hand-edited views are noticed and restored, external
/// inputs are re-hashed when anything but their bytes' stamp survives, and runs sharing a stage key do not collide.
/// </summary>
public sealed class AuditTrailTests : IDisposable
{
    private const string SpecText = "name: exp\nmodel:\n  arch: llama\n  source: generated\ndataset:\n  source: synthetic\n"
        + "  size: 40\n  sample: 10\nanalysis:\n  top_heads: 20\n  skip_threshold: 0.1\n";
    private readonly TempFolder _dir = new();
    private readonly StringWriter _log = new();
    private readonly ConcurrentQueue<string> _executed = new();
    private TimeSpan _alphaDelay = TimeSpan.Zero;

    public void Dispose() => _dir.Dispose();

    private PipelineEnvironment Env() =>
        new(Path.Combine(_dir.Path, "artifacts"), Path.Combine(_dir.Path, "data"), TextWriter.Synchronized(_log), "test");

    private ExperimentSpec Spec(string name = "exp") =>
        SpecLoader.Load(_dir.Write($"{name}.yaml", SpecText.Replace("name: exp", $"name: {name}")));

    private sealed record AlphaParameters([property: SpecField("analysis.top_heads")] int TopHeads);

    private sealed record BetaParameters([property: SpecField("analysis.skip_threshold")] double SkipThreshold);

    // alpha keeps a resume file in its scratch folder while it works, as extract does with its shards.
    private IReadOnlyList<Stage> Graph(ExperimentSpec _) =>
    [
        Stage.Create("alpha", "Phase1", 1, s => new AlphaParameters(s.Analysis.TopHeads), [], ["a.txt", "sub/deep.txt"], (ctx, p) =>
        {
            _executed.Enqueue("alpha");
            Directory.CreateDirectory(ctx.ScratchDirectory);
            File.WriteAllText(Path.Combine(ctx.ScratchDirectory, "shard.txt"), "part");
            Thread.Sleep(_alphaDelay);
            var shard = File.ReadAllText(Path.Combine(ctx.ScratchDirectory, "shard.txt"));
            File.WriteAllText(ctx.Output("a.txt"), $"top={p.TopHeads} {shard}");
            File.WriteAllText(ctx.Output("sub/deep.txt"), "deep");
        }),
        Stage.Create("beta", "Phase1", 1, s => new BetaParameters(s.Analysis.SkipThreshold), ["alpha"], ["report.md"], (ctx, p) =>
        {
            _executed.Enqueue("beta");
            File.WriteAllText(ctx.Output("report.md"), "# report\n" + File.ReadAllText(ctx.Input("alpha", "a.txt")));
        }),
    ];

    private PipelineRunner Runner() => new(Env(), Graph);

    private string View(string file, string experiment = "exp") => Path.Combine(_dir.Path, "artifacts", experiment, "Phase1", file);

    [Fact]
    public void Committed_entries_are_read_only_files_and_folders()
    {
        var outcomes = Runner().Run(Spec());

        var entry = Path.Combine(_dir.Path, "artifacts", "cache", outcomes[0].Key);
        Assert.True(ReadOnlyTree.IsSealed(Path.Combine(entry, "a.txt")));
        Assert.True(ReadOnlyTree.IsSealed(Path.Combine(entry, "sub", "deep.txt")));
        Assert.True(ReadOnlyTree.IsSealed(Path.Combine(entry, ArtifactCache.ManifestName)));
        if (!OperatingSystem.IsWindows())
        {
            Assert.True(ReadOnlyTree.IsSealed(entry));
            Assert.True(ReadOnlyTree.IsSealed(Path.Combine(entry, "sub")));
        }
        // The views are the user's copies: writable.
        Assert.False(ReadOnlyTree.IsSealed(View("a.txt")));
    }

    [Fact]
    public void Forced_rebuild_quarantine_and_clean_still_remove_sealed_entries()
    {
        var spec = Spec();
        var first = Runner().Run(spec);
        Runner().Run(spec, stageName: "alpha", force: true);
        var cache = new ArtifactCache(Env().CacheRoot);
        Assert.Null(cache.Check(first[0].Key, out _));
        Assert.Empty(Directory.GetDirectories(Path.Combine(_dir.Path, "artifacts", "cache", ".tmp")));

        cache.Quarantine(first[1].Key);
        Assert.False(Directory.Exists(cache.EntryPath(first[1].Key)));

        Housekeeping.CleanCache(Env());
        Assert.False(Directory.Exists(Env().CacheRoot));
    }

    [Fact]
    public void Abandoned_sealed_entry_of_a_killed_forced_rebuild_is_removed_by_the_next_run()
    {
        var first = Runner().Run(Spec());
        var cache = new ArtifactCache(Env().CacheRoot);
        var abandoned = Path.Combine(Env().CacheRoot, ".tmp", "999999999-replaced-0");
        Directory.CreateDirectory(Path.GetDirectoryName(abandoned)!);
        ReadOnlyTree.Move(cache.EntryPath(first[0].Key), abandoned, sealAgain: true);

        Runner().Run(Spec());

        Assert.False(Directory.Exists(abandoned));
    }

    [Fact]
    public void Hand_edited_view_shows_in_plan_and_the_next_run_restores_it()
    {
        var spec = Spec();
        Runner().Run(spec);
        var original = File.ReadAllText(View("report.md"));
        Tamper.Write(View("report.md"), original.Replace("top=20", "top=99", StringComparison.Ordinal)); // same size

        var plan = Runner().Plan(spec).ToDictionary(p => p.Stage.Name, p => p.Status);
        Assert.Equal("cached", plan["alpha"]);
        Assert.StartsWith("edited: Phase1/report.md", plan["beta"], StringComparison.Ordinal);

        _executed.Clear();
        var outcomes = Runner().Run(spec);
        Assert.Empty(_executed);
        Assert.All(outcomes, o => Assert.False(o.Executed));
        Assert.Equal(original, File.ReadAllText(View("report.md")));
        Assert.Contains("Phase1/report.md differed from the cache (edited by hand?); restored", _log.ToString(), StringComparison.Ordinal);
        Assert.Equal("cached", Runner().Plan(spec).Single(p => p.Stage.Name == "beta").Status);
    }

    [Fact]
    public void Verify_restores_edited_views_and_flags_those_whose_entry_is_gone()
    {
        var first = Runner().Run(Spec());
        Tamper.Write(View("report.md"), "edited");
        File.Delete(View("sub/deep.txt"));
        Tamper.Write(View("a.txt"), "changed too");
        new ArtifactCache(Env().CacheRoot).Quarantine(first[0].Key); // alpha's entry is gone: its views cannot be restored
        var output = new StringWriter();
        var error = new StringWriter();

        var code = Rehash.Run(Env(), deep: false, output, error);

        Assert.Equal(ExitCodes.Corrupt, code);
        Assert.StartsWith("# report", File.ReadAllText(View("report.md")), StringComparison.Ordinal);
        Assert.Equal("changed too", File.ReadAllText(View("a.txt")));
        Assert.Contains("views: 1 restored from the cache, 2 could not be restored", output.ToString(), StringComparison.Ordinal);
        Assert.Contains($"its cache entry {first[0].Key[..12]} (stage alpha) is gone or corrupt", error.ToString(),
            StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_of_untouched_views_is_clean()
    {
        Runner().Run(Spec());
        var output = new StringWriter();

        Assert.Equal(0, Rehash.Run(Env(), deep: false, output, new StringWriter()));
        Assert.Contains("views: 0 restored from the cache, 0 could not be restored", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Input_replaced_with_the_same_size_and_modification_time_is_rehashed()
    {
        var cacheRoot = Env().CacheRoot;
        var weights = _dir.Write(Path.Combine("ckpt", "model.safetensors"), "weights-A");
        var stamp = File.GetLastWriteTimeUtc(weights);
        var before = FileHashMemo.Sha256(weights, cacheRoot);

        // cp -p: same size, same modification time, new bytes.
        var copy = _dir.Write("other.safetensors", "weights-B");
        File.SetLastWriteTimeUtc(copy, stamp);
        File.Copy(copy, weights, overwrite: true);
        File.SetLastWriteTimeUtc(weights, stamp);

        Assert.Equal(new FileInfo(weights).Length, "weights-A".Length);
        Assert.NotEqual(before, FileHashMemo.Sha256(weights, cacheRoot));
        Assert.Equal(Hashing.File(weights).Sha256, FileHashMemo.Sha256(weights, cacheRoot));
    }

    [Fact]
    public void Deep_verify_rehashes_memoised_inputs_whatever_their_stamp()
    {
        var cacheRoot = Env().CacheRoot;
        var weights = _dir.Write(Path.Combine("ckpt", "model.safetensors"), "weights-A");
        FileHashMemo.Sha256(weights, cacheRoot);
        // A memo that no longer tells the truth (as if the bytes changed behind an unchanged stamp).
        var memoPath = Path.Combine(cacheRoot, ".hashes.json");
        var memo = File.ReadAllText(memoPath);
        File.WriteAllText(memoPath, memo.Replace(Hashing.File(weights).Sha256, new string('0', 64), StringComparison.Ordinal));
        var output = new StringWriter();
        var error = new StringWriter();

        Assert.Equal(0, Rehash.Run(Env(), deep: false, output, error));
        Assert.DoesNotContain("--deep", output.ToString(), StringComparison.Ordinal);
        Rehash.Run(Env(), deep: true, output, error);

        Assert.Contains("--deep: 1 external input files rehashed, 1 changed", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("input changed since it was last hashed (SHA-256 000000000000…", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(Hashing.File(weights).Sha256, FileHashMemo.Sha256(weights, cacheRoot));
    }

    [Fact]
    public void Two_experiments_sharing_a_stage_key_wait_for_each_other()
    {
        _alphaDelay = TimeSpan.FromMilliseconds(400);
        var specs = new[] { Spec("one"), Spec("two") };
        var errors = new ConcurrentQueue<Exception>();

        var threads = specs.Select(spec => new Thread(() =>
        {
            try
            {
                Runner().Run(spec);
            }
            catch (Exception e)
            {
                errors.Enqueue(e);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Empty(errors);
        Assert.Equal(1, _executed.Count(s => s == "alpha"));
        Assert.Equal(File.ReadAllText(View("a.txt", "one")), File.ReadAllText(View("a.txt", "two")));
        Assert.Equal("top=20 part", File.ReadAllText(View("a.txt", "two")));
        Assert.Contains("waiting for it", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_only_artifacts_folder_is_reported_as_such_not_as_busy()
    {
        // /sys refuses new folders even to root, like a read-only mount; elsewhere a chmod'ed folder stands in.
        var root = OperatingSystem.IsLinux() ? "/sys/codilab-test-artifacts" : Path.Combine(_dir.Path, "ro");
        if (!OperatingSystem.IsLinux())
        {
            Directory.CreateDirectory(root);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(root, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        }

        var error = Assert.Throws<CodiLabException>(() =>
            new PipelineRunner(new PipelineEnvironment(root, Path.Combine(_dir.Path, "data"), _log, "test"), Graph).Run(Spec()));

        Assert.Equal(ExitCodes.BadInput, error.ExitCode);
        Assert.StartsWith("the artifacts folder cannot be written", error.What, StringComparison.Ordinal);
        Assert.DoesNotContain("another CodiLab run", error.Message, StringComparison.Ordinal);
    }
}
