using System.Text.Json.Nodes;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Features;
using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Pipeline;

/// <summary>
/// Bench's sweep and its analysis mode, on tiny shapes. Timings are measured, never asserted: these tests check
/// what was run and that the synthetic arrays went through the real stages.
/// </summary>
public sealed class BenchTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly StringWriter _log = new();

    public void Dispose() => _dir.Dispose();

    private PipelineEnvironment Env() => new(Path.Combine(_dir.Path, "artifacts"), Path.Combine(_dir.Path, "data"), _log, "test");

    [Fact]
    public void Analysis_mode_runs_every_stage_after_extract_on_well_formed_synthetic_arrays()
    {
        var env = Env();
        var result = AnalysisBench.Run(SpecLoader.Load("default:tiny-gpt2"), env, problems: 30, layers: 2, heads: 3, keep: true);

        Assert.Equal(["aggregate", "analyze", "figures", "report", "heads", "heads-figures", "heads-report", "p4-analyze", "p4-report"],
            result.Stages.Select(s => s.Stage).ToArray());
        Assert.Equal(30, result.Problems);
        Assert.All(result.Stages, s => Assert.True(s.PeakHostMemoryMb > 0));
        // The aggregate's mean latent view is [L, H, K+1, K+3]; each row averages distributions, so it sums to 1 over
        // the keys it can see (NaN elsewhere), as extract's real rows do.
        var root = Path.Combine(env.ExperimentRoot("tiny-gpt2"), "bench-analysis");
        var mean = Npy.Read(Path.Combine(root, "aggregate", Phase1Files.LatentAvg));
        Assert.Equal([2L, 3, 7, 9], mean.Shape);
        for (int row = 0; row < 2 * 3 * 7; row++)
        {
            var sum = mean.Values.Skip(row * 9).Take(9).Where(v => !float.IsNaN(v)).Sum();
            Assert.Equal(1.0, sum, 4);
        }
        Assert.True(File.Exists(Path.Combine(root, "heads", Phase2Files.Summary)));
        // Phase 4's analysis ran over the full synthetic set, with the first 30 (all of them here) as the Phase 1 sample.
        var phase4 = Phase4Files.Read(Path.Combine(root, "p4-analyze", Phase4Files.Summary));
        Assert.Equal((30, 30), (phase4.Problems, phase4.SampleProblems));
        var written = JsonNode.Parse(File.ReadAllText(Path.Combine(env.ExperimentRoot("tiny-gpt2"), "bench-analysis.json")))!;
        Assert.Equal(9, written["stages"]!.AsArray().Count);
    }

    [Fact]
    public void The_padding_ratio_counts_the_positions_a_left_padded_batch_computes()
    {
        // Sorted by length, a batch is cut before a prompt that would make it compute more than 1.15 positions per token:
        // [10, 20] would compute 40 for 30 tokens, [20, 30] 60 for 50; [30, 40] computes 80 for 70. So 110 positions for
        // 100 tokens, at any batch size from 2 up; fixed batches of four would compute 160.
        int[] lengths = [40, 10, 30, 20];
        Assert.Equal([[1], [3], [2, 0]], CodiLab.Models.Codi.CodiModel.Batches(lengths, 4));
        Assert.Equal(1.0, Bench.PaddedRatio(lengths, 1));
        Assert.Equal(1.1, Bench.PaddedRatio(lengths, 2));
        Assert.Equal(1.1, Bench.PaddedRatio(lengths, 4));
        // Equal lengths fill whole batches.
        Assert.Equal([[0, 1, 2], [3]], CodiLab.Models.Codi.CodiModel.Batches([5, 5, 5, 5], 3));
    }

    [Fact]
    public void A_sweep_times_every_pair_with_one_load_and_writes_them_all()
    {
        var env = Env();
        var options = new BenchOptions { ProblemCounts = [3, 6], BatchSizes = [1, 3] };
        var results = Bench.Sweep(SpecLoader.Load("default:tiny-llama"), env, options);

        Assert.Equal([(3, 1), (6, 1), (3, 3), (6, 3)], results.Select(r => (r.Problems, r.BatchSize)).ToArray());
        Assert.All(results, r => Assert.Equal(0L, r.LiveTensorGrowth));
        Assert.All(results, r => Assert.NotNull(r.HostState));
        var sweep = JsonNode.Parse(File.ReadAllText(Path.Combine(env.ExperimentRoot("tiny-llama"), "bench-sweep.json")))!.AsArray();
        Assert.Equal(4, sweep.Count);
        Assert.Equal(3, sweep[3]!["batch_size"]!.GetValue<int>());
    }
}
