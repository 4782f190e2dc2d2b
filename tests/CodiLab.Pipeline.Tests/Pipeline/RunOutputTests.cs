using CodiLab.Pipeline.Engine;
using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Pipeline;

/// <summary>The runner's log: one line per stage asked for; upstream stages that are only reused stay silent.</summary>
public sealed class RunOutputTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly StringWriter _log = new();

    public void Dispose() => _dir.Dispose();

    private static IReadOnlyList<Stage> Graph(ExperimentSpec _) =>
    [
        Stage.Create("alpha", "Phase1", 1, s => new object(), [], ["a.txt"], (ctx, _) => File.WriteAllText(ctx.Output("a.txt"), "a")),
        Stage.Create("beta", "Phase1", 1, s => new object(), ["alpha"], ["b.txt"],
            (ctx, _) => File.WriteAllText(ctx.Output("b.txt"), File.ReadAllText(ctx.Input("alpha", "a.txt")) + "b")),
    ];

    private PipelineRunner Runner() =>
        new(new PipelineEnvironment(Path.Combine(_dir.Path, "artifacts"), Path.Combine(_dir.Path, "data"), _log, "test"), Graph);

    private ExperimentSpec Spec() =>
        SpecLoader.Load(_dir.Write("exp.yaml", "name: exp\nmodel:\n  arch: llama\n  source: generated\ndataset:\n  source: synthetic\n"));

    private string[] TakeLines()
    {
        var lines = _log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        _log.GetStringBuilder().Clear();
        return lines;
    }

    [Fact]
    public void Each_stage_asked_for_gets_one_line_and_reused_upstream_none()
    {
        var spec = Spec();

        Runner().Run(spec, stageName: "beta");
        var first = TakeLines();
        Runner().Run(spec, stageName: "beta");
        var again = TakeLines();
        Runner().Run(spec);
        var all = TakeLines();

        Assert.Equal(2, first.Length);
        Assert.StartsWith("[exp] alpha: ran in ", first[0], StringComparison.Ordinal);
        Assert.StartsWith("[exp] beta: ran in ", first[1], StringComparison.Ordinal);
        var line = Assert.Single(again);
        Assert.Matches(@"^\[exp\] beta: cached \([0-9a-f]{12}\) -> .*exp[/\\]Phase1$", line);
        Assert.Equal(["alpha", "beta"], all.Select(l => l.Split(' ')[1].TrimEnd(':')));
        Assert.All(all, l => Assert.Contains(": cached (", l, StringComparison.Ordinal));
    }

    [Fact]
    public void A_reused_upstream_stage_whose_view_was_edited_still_says_it_was_restored()
    {
        var spec = Spec();
        Runner().Run(spec, stageName: "beta");
        TakeLines();
        Tamper.Write(Path.Combine(_dir.Path, "artifacts", "exp", "Phase1", "a.txt"), "edited");

        Runner().Run(spec, stageName: "beta");

        var lines = TakeLines();
        Assert.Equal(2, lines.Length);
        Assert.Contains("alpha: Phase1/a.txt differed from the cache (edited by hand?); restored", lines[0], StringComparison.Ordinal);
        Assert.Contains("beta: cached", lines[1], StringComparison.Ordinal);
    }
}
