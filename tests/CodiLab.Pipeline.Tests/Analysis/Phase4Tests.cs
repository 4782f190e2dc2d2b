using System.Text.Json.Nodes;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Extraction;
using CodiLab.Pipeline.Stages;
using CodiLab.Reports;
using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>Phase 4 end to end on a small version of the default spec: it runs, reports the criteria, and resumes.</summary>
public sealed class Phase4Tests : IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly StringWriter _log = new();

    public void Dispose() => _dir.Dispose();

    private PipelineEnvironment Env() => new(Path.Combine(_dir.Path, "artifacts"), Path.Combine(_dir.Path, "data"), _log, "test");

    private string View(string experiment, string file) => Path.Combine(_dir.Path, "artifacts", experiment, "Phase4", file);

    // The default experiment on 150 problems: Phase 1's 100 and 50 more.
    private ExperimentSpec Spec(string name) => SpecLoader.Load(_dir.Write($"{name}.yaml", $"""
        extends: default:tiny-llama
        name: {name}
        dataset:
          size: 150
        phase4:
          sample: all
          subsets: 100
          bootstrap: 100
        phases: [Phase4]
        """));

    [Fact]
    public void A_synthetic_full_set_larger_than_the_dataset_is_generated_on_and_holds_the_Phase1_sample()
    {
        // Given a synthetic dataset of 150 problems and a Phase 4 set of 400,
        var spec = SpecLoader.Load(_dir.Write("grow.yaml", """
            extends: default:tiny-llama
            name: grow
            dataset:
              size: 150
            phase4:
              sample: 400
            phases: [Phase4]
            """));
        var runner = StageCatalog.Runner(Env());

        // when the two sample stages run,
        runner.Run(spec, stageName: "sample");
        runner.Run(spec, stageName: "p4-sample");

        // then the full set has 400 problems, and every Phase 1 problem is in it under its id with the same question.
        var full = ExtractionDriver.ReadDataset(View("grow", Phase4Files.Dataset)).ToDictionary(q => q.Gsm8kId, q => q.Question);
        var first = ExtractionDriver.ReadDataset(Path.Combine(_dir.Path, "artifacts", "grow", "Phase1", Phase1Files.Dataset));
        Assert.Equal(400, full.Count);
        Assert.Equal(100, first.Count);
        Assert.All(first, q => Assert.Equal(q.Question, full[q.Gsm8kId]));
        // The Phase 1 sample is drawn from the dataset's 150, not from the 400.
        Assert.All(first, q => Assert.InRange(int.Parse(q.Gsm8kId.Split('_')[1], System.Globalization.CultureInfo.InvariantCulture), 0, 149));
    }

    [Fact]
    public void Phase4_of_the_default_spec_runs_over_the_full_set_and_reports_the_seed_criteria()
    {
        var spec = Spec("p4run");

        var outcomes = StageCatalog.Runner(Env()).Run(spec);

        Assert.Equal(Phase4Stages.Names, outcomes.Where(o => o.Stage.StartsWith("p4-", StringComparison.Ordinal)).Select(o => o.Stage));
        var summary = Phase4Files.Read(View("p4run", Phase4Files.Summary));
        Assert.Equal((150, 100), (summary.Problems, summary.SampleProblems));
        Assert.Equal(150, Npy.Read(View("p4run", Phase1Files.SeedRaw)).Shape[0]);
        var report = File.ReadAllText(View("p4run", Phase4Files.Report));
        Assert.Contains("| criterion | threshold | value | 95% interval | result | note |", report, StringComparison.Ordinal);
        Assert.Contains("mean-pattern correlation, sample vs full (seed", report, StringComparison.Ordinal);
        Assert.Contains("top-10 head overlap", report, StringComparison.Ordinal);
        Assert.Contains("paired t-test, sample vs full | not used", report, StringComparison.Ordinal);
        Assert.Contains("random subsets of 100 problems", report, StringComparison.Ordinal);
        var rows = File.ReadAllLines(View("p4run", Phase4Files.Problems));
        Assert.Equal(151, rows.Length);
        Assert.Equal(100, rows.Skip(1).Count(r => r.Split(',')[2] == "True"));
        var canonical = JsonNode.Parse(File.ReadAllText(View("p4run", Phase4Files.CanonicalSummary)))!;
        Assert.Equal("p4run", canonical["experiment"]!.GetValue<string>());
        Assert.All(Phase4Figures.Files, f => Assert.True(new FileInfo(View("p4run", f)).Length > 1000, f));
    }

    [Fact]
    public void A_killed_p4_extract_resumes_from_its_finished_shards_and_matches_an_uninterrupted_run()
    {
        // Given a p4-extract interrupted after its first two shards (a killed run leaves exactly these and no output),
        var env = Env();
        var spec = Spec("p4resume");
        var runner = StageCatalog.Runner(env);
        runner.Run(spec, stageName: "p4-extract");
        var reference = Arrays.Select(a => File.ReadAllBytes(View("p4resume", a.File))).ToList();
        var key = runner.Plan(spec, stage: "p4-extract").Single(p => p.Stage.Name == "p4-extract").Key!;
        var scratch = Path.Combine(env.CacheRoot, ".partial", key);
        Directory.CreateDirectory(scratch);
        // Re-creating those shards by running the driver's plan would need the model; instead the finished entry's
        // arrays are cut into the first two shards, as the interrupted run wrote them.
        WriteShards(scratch, "p4resume");

        // when it runs again (forced: its finished entry stands for the run that never finished),
        _log.GetStringBuilder().Clear();
        runner.Run(spec, stageName: "p4-extract", force: true);

        // then it resumes the 128 problems and computes the rest, and the arrays are byte for byte the uninterrupted run's.
        Assert.Contains("150/150 problems (128 reused)", _log.ToString(), StringComparison.Ordinal);
        Assert.Equal(reference, Arrays.Select(a => File.ReadAllBytes(View("p4resume", a.File))).ToList());
        Assert.False(Directory.Exists(scratch));
    }

    // Every array the extraction writes (name, file, stored dtype), cut into the interrupted run's shards.
    private static readonly (string Name, string File, NpyDType DType)[] Arrays =
    [
        ("seed", Phase1Files.SeedRaw, NpyDType.Float16), ("latent", Phase1Files.LatentRaw, NpyDType.Float32),
        ("value-weighted", Phase1Files.LatentValueWeighted, NpyDType.Float32),
        ("qkind", Phase1Files.QuestionKindMass, NpyDType.Float32), ("qtopkeys", Phase1Files.QuestionTopKeys, NpyDType.Float32),
        ("qtopweights", Phase1Files.QuestionTopWeights, NpyDType.Float32), ("lensids", Phase1Files.LensIds, NpyDType.Float32),
    ];

    private void WriteShards(string scratch, string experiment)
    {
        var arrays = Arrays.Select(a => (a.Name, a.DType, Values: Npy.Read(View(experiment, a.File)))).ToList();
        var problems = JsonNode.Parse(File.ReadAllText(View(experiment, Phase1Files.Metadata)))!["problems"]!.AsArray();
        for (int start = 0; start < 128; start += 64)
        {
            var shard = Path.Combine(scratch, $"shard-{start:D7}");
            var cells = new JsonObject();
            foreach (var (name, dtype, values) in arrays)
            {
                var perProblem = (int)(values.Count / 150);
                Npy.Write($"{shard}.{name}.npy", [64, perProblem], values.Values.AsSpan(start * perProblem, 64 * perProblem), dtype);
                cells[name] = perProblem;
            }
            var meta = new JsonObject
            {
                ["Start"] = start, ["Count"] = 64, ["Batch"] = 8, ["MaxNewTokens"] = 0, ["Cells"] = cells,
                ["Problems"] = new JsonArray([.. problems.Skip(start).Take(64).Select(p => p!.DeepClone())]),
            };
            File.WriteAllText(shard + ".json", meta.ToJsonString());
        }
    }
}
