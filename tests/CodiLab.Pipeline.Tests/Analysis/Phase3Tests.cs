using CodiLab.Analysis;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Stages;
using CodiLab.Reports;
using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>Phase 3 end to end on a tiny generated model: outputs, per-condition caching, the problems table.</summary>
public sealed class Phase3Tests : IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly StringWriter _log = new();

    public void Dispose() => _dir.Dispose();

    private PipelineEnvironment Env() => new(Path.Combine(_dir.Path, "artifacts"), Path.Combine(_dir.Path, "data"), _log, "test");

    private const string Spec = "name: p3\nmodel: { arch: llama, source: generated, device: cpu }\n"
        + "dataset: { source: synthetic, size: 20, sample: 4 }\nextraction: { batch_size: 4 }\n"
        + "interventions: { problems: 3, max_new_tokens: 2, families: [edges], controls: 1, bootstrap: 200 }\nphases: [Phase3]\n";

    [Theory]
    [InlineData("gpt2", "problems: 3, max_new_tokens: 2, families: [kv_groups]", "has no condition for this model")]
    [InlineData("llama", "problems: 1, max_new_tokens: 2, families: [patching], patch_layers: 1", "so no problem has a donor")]
    public void A_sweep_that_would_test_nothing_is_refused_before_it_runs(string arch, string interventions, string message)
    {
        var spec = $"name: p3\nmodel: {{ arch: {arch}, source: generated, device: cpu }}\n"
            + "dataset: { source: synthetic, size: 20, sample: 4 }\nextraction: { batch_size: 4 }\n"
            + $"interventions: {{ {interventions} }}\nphases: [Phase3]\n";

        var e = Assert.Throws<CodiLabException>(() => StageCatalog.Runner(Env()).Run(SpecLoader.Load(_dir.Write("p3.yaml", spec))));

        Assert.Equal(ExitCodes.InvalidSpec, e.ExitCode);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("interventions: ran", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Changing_one_condition_recomputes_only_that_condition()
    {
        var env = Env();
        StageCatalog.Runner(env).Run(SpecLoader.Load(_dir.Write("p3.yaml", Spec)));
        var view = Path.Combine(env.ExperimentRoot("p3"), "Phase3");
        Assert.Contains("baseline + 12 conditions (0 read from the cache)", _log.ToString(), StringComparison.Ordinal);
        var runs = Phase3Files.Read<Phase3Runs>(Path.Combine(view, Phase3Files.Runs));
        Assert.All(runs.All, r => Assert.Equal(runs.Baseline.Problems.Select(p => p.Id), r.Problems.Select(p => p.Id)));
        Assert.All(runs.Baseline.Problems, p => Assert.StartsWith("synthetic_test_", p.Id, StringComparison.Ordinal));
        Assert.All(runs.All.SelectMany(r => r.Problems), p => Assert.True(p.GoldLogProb is { } v && double.IsFinite(v) && v < 0));
        Assert.Equal(1 + 13 * 3, File.ReadAllLines(Path.Combine(view, Phase3Files.Problems)).Length);
        var summary = Phase3Files.Read<Phase3Summary>(Path.Combine(view, Phase3Files.Summary));
        Assert.Equal("gold_logprob", summary.ReadFrom); // an untrained model is at chance
        Assert.Contains("Seed claim → causal test → result", File.ReadAllText(Path.Combine(view, Phase3Report.Markdown)), StringComparison.Ordinal);
        Assert.All(Phase3Figures.Files, f => Assert.True(new FileInfo(Path.Combine(view, f)).Length > 1000, f));

        // One more family: the two new conditions run, the baseline and the 12 edge conditions are read back.
        _log.GetStringBuilder().Clear();
        StageCatalog.Runner(env).Run(SpecLoader.Load(_dir.Write("p3.yaml", Spec.Replace("families: [edges]", "families: [edges, top_heads], top_k: [1]",
            StringComparison.Ordinal))));
        Assert.Contains("baseline + 14 conditions (13 read from the cache)", _log.ToString(), StringComparison.Ordinal);
        var again = Phase3Files.Read<Phase3Runs>(Path.Combine(view, Phase3Files.Runs));
        Assert.Equal(runs.Conditions[0].Problems, again.Conditions[0].Problems); // edge-bot: the very same outcomes
    }
}
