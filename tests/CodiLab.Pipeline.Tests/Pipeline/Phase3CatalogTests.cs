using CodiLab.Analysis;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Stages;
using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Pipeline;

/// <summary>Phase 3's place in the stage catalogue and its file helpers (no model needed).</summary>
public sealed class Phase3CatalogTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Phase3_alone_brings_the_Phase1_and_Phase2_stages_it_reads_from()
    {
        var spec = SpecLoader.Load(_dir.Write("p3.yaml", "model: { arch: llama, source: generated }\ndataset: { source: synthetic }\nphases: [Phase3]\n"));

        var names = StageCatalog.For(spec).Select(s => s.Name).ToList();

        Assert.Equal(["sample", "model", "extract", "aggregate", "heads", "interventions-sample", "interventions", "interventions-analyze",
            "interventions-figures", "interventions-report"], names);
        Assert.All(StageCatalog.For(spec).Where(s => s.Name.StartsWith("interventions", StringComparison.Ordinal)),
            s => Assert.Equal("Phase3", s.Phase));
    }

    [Fact]
    public void The_default_specs_run_Phase3()
    {
        foreach (var spec in SpecLoader.LoadAll(SpecLoader.DefaultSpecs))
        {
            Assert.Contains(Phase.Phase3, spec.Phases);
            Assert.Contains(StageCatalog.For(spec), s => s.Name == "interventions-report");
            Assert.Equal(new SampleSize.Count(6), spec.Interventions.Problems);
        }
    }

    [Fact]
    public void Head_metrics_are_read_from_the_Phase2_tables()
    {
        var heads = _dir.Path;
        File.WriteAllText(Path.Combine(heads, Phase2Files.LatentHeads),
            "layer,head,layer_type,sequential,sequential_std,skip_d2,skip_d2_std,skip_d3,skip_d3_std,hub_BOT,hub_BOT_std\n"
            + "0,0,early,0.5,0.1,0.2,0,0.4,0,0.7,0\n0,1,early,0.25,0.1,0.1,0,0.1,0,0.1,0\n");
        File.WriteAllText(Path.Combine(heads, Phase2Files.RankedHeads),
            "layer,head,layer_type,flow_score,hub_score,skip_score,composite_score,functional_type,max_attention\n"
            + "0,1,early,1,0.3,0.2,0.55,Hub Aggregator,0.9\n0,0,early,1,0.1,0.1,0.1,Forward Flow,0.5\n");

        Assert.Equal(0.5, Phase3Files.HeadMetric(heads, "sequential")[new HeadRef(0, 0)]);
        Assert.Equal(0.3, Phase3Files.HeadMetric(heads, "skip")[new HeadRef(0, 0)], 12); // mean of skip_d2, skip_d3
        Assert.Equal(0.1, Phase3Files.HeadMetric(heads, "hub_bot")[new HeadRef(0, 1)]);
        Assert.Equal(0.55, Phase3Files.HeadMetric(heads, "seed_composite")[new HeadRef(0, 1)]);
        var error = Assert.Throws<CodiLabException>(() => Phase3Files.HeadMetric(heads, "receiver_kurtosis"));
        Assert.Contains("no column 'receiver_kurtosis'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_problems_table_has_one_row_per_problem_and_condition()
    {
        ProblemOutcome P(string id, bool ok, double? lp) => new(id, "1,000", ok ? "1000" : null, ok, lp is null, lp is null ? "x, \"y\"" : null, lp, null);
        var runs = new Phase3Runs("m", "2 problems", 8, new ConditionRun("baseline", [P("a", true, -1.5), P("b", false, null)]),
            [new ConditionRun("edge-z1", [P("a", false, -2), P("b", false, -3)])]);

        var lines = Phase3Files.ProblemsCsv(runs).TrimEnd('\n').Split('\n');

        Assert.Equal("problem,condition,gold,prediction,correct,failed,gold_logprob,error", lines[0]);
        Assert.Equal("a,baseline,\"1,000\",1000,true,false,-1.5,", lines[1]);
        Assert.Equal("b,baseline,\"1,000\",,false,true,,\"x, \"\"y\"\"\"", lines[2]);
        Assert.Equal(5, lines.Length);
    }
}
