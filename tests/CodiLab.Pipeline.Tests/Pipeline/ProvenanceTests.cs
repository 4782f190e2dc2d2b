using System.Diagnostics;
using System.Text.Json;
using CodiLab.Pipeline.Engine;
using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Pipeline;

/// <summary>Provenance is true: the harness commit is the built one, the experiment's commit is its spec's repository's.</summary>
public sealed class ProvenanceTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly StringWriter _log = new();

    public void Dispose() => _dir.Dispose();

    private sealed record NoParameters;

    private PipelineRunner Runner() => new(
        new PipelineEnvironment(Path.Combine(_dir.Path, "artifacts"), Path.Combine(_dir.Path, "data"), _log, "test"),
        _ => [Stage.Create("alpha", "Phase1", 1, _ => new NoParameters(), [], ["a.txt"],
            (ctx, _) => File.WriteAllText(ctx.Output("a.txt"), "a"))]);

    private string SpecFile(string folder) => _dir.Write(Path.Combine(folder, "exp.yaml"),
        "name: exp\nmodel:\n  arch: llama\n  source: generated\ndataset:\n  source: synthetic\n  size: 40\n  sample: 10\n");

    private JsonElement Stage0() => JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir.Path, "artifacts", "exp", "provenance.json")))
        .RootElement.GetProperty("stages").GetProperty("alpha");

    private static string Git(string folder, params string[] args)
    {
        var start = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-C");
        start.ArgumentList.Add(folder);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var git = Process.Start(start)!;
        var output = git.StandardOutput.ReadToEnd();
        git.WaitForExit();
        Assert.Equal(0, git.ExitCode);
        return output.Trim();
    }

    [Fact]
    public void Harness_commit_is_embedded_at_build_time_with_a_dirty_flag()
    {
        var harness = HarnessInfo.Harness;

        // Built from this git clone: a full commit hash and a definite flag (a tarball build would say "unknown").
        Assert.Matches("^[0-9a-f]{40}$", harness.Commit);
        Assert.Contains(harness.Dirty, new[] { "true", "false" });
    }

    [Fact]
    public void Experiment_commit_comes_from_the_spec_files_repository_not_the_current_folder()
    {
        var repo = Path.Combine(_dir.Path, "experiments");
        var spec = SpecFile("experiments");
        Git(repo, "init", "-q");
        Git(repo, "-c", "user.email=t@example.org", "-c", "user.name=t", "add", ".");
        Git(repo, "-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-qm", "spec");
        var head = Git(repo, "rev-parse", "HEAD");

        Runner().Run(SpecLoader.Load(spec));
        var clean = Stage0().GetProperty("experiment_commit");
        Assert.Equal(head, clean.GetProperty("commit").GetString());
        Assert.Equal("false", clean.GetProperty("dirty").GetString());
        Assert.Equal(HarnessInfo.Harness.Commit, Stage0().GetProperty("harness_commit").GetProperty("commit").GetString());

        File.AppendAllText(spec, "# edited\n");
        Runner().Run(SpecLoader.Load(spec), force: true);
        Assert.Equal("true", Stage0().GetProperty("experiment_commit").GetProperty("dirty").GetString());
    }

    [Fact]
    public void Spec_outside_any_repository_records_no_experiment_commit()
    {
        Runner().Run(SpecLoader.Load(SpecFile("loose")));

        // The temp folder is in no repository (unless the machine's temp folder is itself under git).
        if (HarnessInfo.Repository(Path.Combine(_dir.Path, "loose")) is null)
            Assert.False(Stage0().TryGetProperty("experiment_commit", out _));
        Assert.True(Stage0().TryGetProperty("harness_commit", out _));
    }

    [Fact]
    public void Unreadable_provenance_is_kept_aside_with_a_warning_never_silently_replaced()
    {
        var spec = SpecLoader.Load(SpecFile("loose"));
        var provenance = _dir.Write(Path.Combine("artifacts", "exp", "provenance.json"), "{ garbage, my notes");

        Runner().Run(spec);

        var aside = Assert.Single(Directory.GetFiles(Path.GetDirectoryName(provenance)!, "provenance.json.unreadable-*"));
        Assert.Equal("{ garbage, my notes", File.ReadAllText(aside));
        Assert.Equal(64, Stage0().GetProperty("key").GetString()!.Length);
        Assert.Contains("provenance file unreadable", _log.ToString(), StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(aside), _log.ToString(), StringComparison.Ordinal);
    }
}
