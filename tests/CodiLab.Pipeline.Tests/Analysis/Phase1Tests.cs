using System.Globalization;
using System.Text.Json.Nodes;
using CodiLab.Reports;
using CodiLab.Models.Codi;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Features;
using CodiLab.Pipeline.Stages;
using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>
/// Phase 1 end to end in-process: on a spec over a reference fixture the artifacts agree with numbers computed
/// here, independently, from reference.json; the default specs' canonical summaries are pinned.
/// </summary>
public sealed class Phase1Tests : IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly StringWriter _log = new();

    public void Dispose() => _dir.Dispose();

    private PipelineEnvironment Env() => new(Path.Combine(_dir.Path, "artifacts"), Path.Combine(_dir.Path, "data"), _log, "test");

    private string View(string experiment, string file) => Path.Combine(_dir.Path, "artifacts", experiment, "Phase1", file);

    // A spec running the fixture's own model on a JSONL of its reference questions.
    private (ExperimentSpec Spec, IReadOnlyList<TraceResult> References) FixtureSpec(string fixture)
    {
        var folder = TestPaths.Fixture(fixture);
        var references = TraceJson.Read(Path.Combine(folder, "reference.json"));
        var jsonl = _dir.Write("data/questions.jsonl", string.Concat(references.Select((r, i) =>
            new JsonObject { ["question"] = r.Question, ["answer"] = $"so\n#### {i}" }.ToJsonString() + "\n")));
        var spec = _dir.Write($"{fixture}.yaml", $"""
            name: fx-{fixture}
            seed: 42
            model:
              arch: {(fixture.Contains("llama", StringComparison.Ordinal) ? "llama" : "gpt2")}
              source: checkpoint
              path: {folder}
            dataset:
              source: gsm8k
              path: {jsonl}
              sha256: {Gsm8k.Sha256(jsonl)}
              sample: all
            extraction:
              max_new_tokens: 12
            analysis:
              top_heads: 4
            phases: [Phase1, Phase2]
            """);
        return (SpecLoader.Load(spec), references);
    }

    [SharedTheory]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-llama")]
    public void Fixture_spec_artifacts_agree_with_reference_json(string fixture)
    {
        var (spec, refs) = FixtureSpec(fixture);
        StageCatalog.Runner(Env()).Run(spec, "Phase1");

        var seed = Npy.Read(View(spec.Name, Phase1Files.SeedRaw));
        var latent = Npy.Read(View(spec.Name, Phase1Files.LatentRaw));
        var (n, layers, heads) = (refs.Count, refs[0].Attention["bot"].Length, refs[0].Attention["bot"][0].Length);
        Assert.Equal([n, layers, heads, 6, 6], seed.Shape);
        Assert.Equal("<f2", seed.Descr);
        Assert.Equal([n, layers, heads, 7, 9], latent.Shape);

        // Independently: M[s, j] = A(z_s -> key Q+1+j), Q = question tokens (BOT sits at Q); float16 storage.
        var hub = new double[6];
        var sum = new float[layers * heads * 36];
        for (int p = 0; p < n; p++)
        {
            var r = refs[p];
            var q = r.InputIds.Count - 1;
            for (int l = 0; l < layers; l++)
                for (int h = 0; h < heads; h++)
                    for (int s = 0; s < 6; s++)
                        for (int j = 0; j < 6; j++)
                        {
                            var expected = s >= 1 && j < s ? (float)(Half)r.Attention[$"z{s}"][l][h][q + 1 + j] : 0f;
                            var actual = seed.Values[seed.Index(p, l, h, s, j)];
                            Assert.True(Math.Abs(expected - actual) <= 1e-3, $"{fixture} problem {p} L{l}H{h} [{s},{j}]: {actual} vs {expected}");
                            sum[((l * heads + h) * 6 + s) * 6 + j] += expected;
                        }
            // Latent view: P0, question (P1..Q-1), BOT, z1..z6 from the same rows, 1e-4.
            for (int a = 0; a <= 6; a++)
            {
                var rows = r.Attention[a == 0 ? "bot" : $"z{a}"];
                for (int l = 0; l < layers; l++)
                    for (int h = 0; h < heads; h++)
                    {
                        var row = rows[l][h];
                        double[] expected = [row[0], row.Skip(1).Take(q - 1).Sum(x => (double)x), row[q], .. Enumerable.Range(1, 6).Select(b => b <= a ? row[q + b] : double.NaN)];
                        for (int c = 0; c < 9; c++)
                        {
                            var actual = latent.Values[latent.Index(p, l, h, a, c)];
                            if (double.IsNaN(expected[c])) Assert.True(float.IsNaN(actual));
                            else Assert.True(Math.Abs(expected[c] - actual) <= 1e-4, $"{fixture} problem {p} L{l}H{h} row {a} col {c}");
                        }
                    }
            }
        }
        // Hub scores: float16 mean, column sums, averaged over heads; the summary and the report show them.
        for (int hd = 0; hd < layers * heads; hd++)
            for (int j = 0; j < 6; j++)
                for (int i = 0; i < 6; i++) hub[j] += (float)(Half)(sum[hd * 36 + i * 6 + j] / n) / (layers * heads);
        var summary = JsonNode.Parse(File.ReadAllText(View(spec.Name, Phase1Files.SeedSummary)))!;
        var scores = summary["hub_analysis"]!["all_hub_scores"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        for (int j = 0; j < 6; j++) Assert.Equal(hub[j], scores[j], 1e-3);
        Assert.Equal(0.0, scores[5]);
        var report = File.ReadAllText(View(spec.Name, Phase1Report.Markdown));
        Assert.Contains($"| 0 | z1 | {hub[0].ToString("0.0000", CultureInfo.InvariantCulture)} |", report, StringComparison.Ordinal);
        Assert.Contains("## What the seed's indices meant", report, StringComparison.Ordinal);
        Assert.Contains("figures/seed/1_top_heads_attention.png", report, StringComparison.Ordinal);
        Assert.Contains("data:image/png;base64,", File.ReadAllText(View(spec.Name, Phase1Report.Html)), StringComparison.Ordinal);

        // The value-weighted view: the latent view's shape and visibility, each visible row summing to 1; the report sets it
        // against raw attention with a verdict and draws the sink rate by layer.
        var weighted = Npy.Read(View(spec.Name, Phase1Files.LatentValueWeighted));
        Assert.Equal(latent.Shape, weighted.Shape);
        for (int row = 0; row < weighted.Values.Length / 9; row++)
        {
            var cells = weighted.Values.AsSpan(row * 9, 9).ToArray();
            Assert.Equal(latent.Values.AsSpan(row * 9, 9).ToArray().Select(float.IsNaN), cells.Select(float.IsNaN));
            Assert.Equal(1.0, cells.Where(v => !float.IsNaN(v)).Sum(v => (double)v), 4);
        }
        Assert.Contains("### Sink or hub: raw against value-weighted attention", report, StringComparison.Ordinal);
        Assert.Matches(@"Position 0 \(P0\): \*\*(a sink|a hub|neither)", report);
        PngAssert.PanelGrid(View(spec.Name, SinkSection.Figure), 2, 2);

        // Answers decoded in batches equal the reference's; the accuracy is counted and reported.
        var metadata = JsonNode.Parse(File.ReadAllText(View(spec.Name, Phase1Files.Metadata)))!;
        for (int p = 0; p < n; p++) Assert.Equal(refs[p].AnswerText, metadata["problems"]![p]!["answer_text"]!.GetValue<string>());
        Assert.Equal(n, metadata["accuracy"]!["total"]!.GetValue<int>());
        Assert.Contains($"| accuracy | {metadata["accuracy"]!["correct"]}/{n} (", report, StringComparison.Ordinal);

        // The seed matrix is a re-indexing of the latent view: M[s, j] = Lat[z_s, z_{j+1}].
        for (int l = 0; l < layers; l++)
            for (int s = 1; s < 6; s++)
                for (int j = 0; j < s; j++)
                    Assert.Equal(latent.Values[latent.Index(0, l, 0, s, 3 + j)], seed.Values[seed.Index(0, l, 0, s, j)], 3);
    }

    [Theory]
    [InlineData("tiny-llama")]
    [InlineData("tiny-gpt2")]
    public void Default_spec_phase1_summary_is_pinned(string name)
    {
        var env = Env();
        var spec = SpecLoader.Load("default:" + name);
        var outcomes = StageCatalog.Runner(env).Run(spec, "Phase1");
        Assert.Equal(["sample", "model", "extract", "aggregate", "analyze", "figures", "report"], outcomes.Select(o => o.Stage));
        // Every figure decodes to its panel grid with each panel drawn: top heads in rows of at most 5, one panel
        // per representative layer, three charts.
        var info = Phase1Files.ReadMetadata(View(name, Phase1Files.Metadata));
        var (top, layers) = (Math.Min(spec.Analysis.TopHeads, info.Layers * info.Heads), Phase1Figures.RepresentativeLayers(info.Layers).Length);
        foreach (var convention in new[] { "seed", "latent" })
        {
            PngAssert.PanelGrid(View(name, $"figures/{convention}/{Phase1Figures.Names[0]}"), top, Math.Min(5, top));
            PngAssert.PanelGrid(View(name, $"figures/{convention}/{Phase1Figures.Names[1]}"), layers, layers);
            PngAssert.PanelGrid(View(name, $"figures/{convention}/{Phase1Figures.Names[2]}"), 3, 3);
        }
        // A second run reuses everything.
        Assert.All(StageCatalog.Runner(env).Run(spec, "Phase1"), o => Assert.False(o.Executed));

        Pins.Match(File.ReadAllText(View(name, Phase1Files.CanonicalSummary)), name);
    }

    [Fact]
    public void Batch_size_does_not_change_the_pinned_summary()
    {
        var env = Env();
        var single = SpecLoader.Load(_dir.Write("one.yaml", "extends: default:tiny-gpt2\nname: one-by-one\nextraction:\n  batch_size: 1\ndataset:\n  sample: 24\n"));
        var batched24 = SpecLoader.Load(_dir.Write("many.yaml", "extends: default:tiny-gpt2\nname: many\nextraction:\n  batch_size: 16\ndataset:\n  sample: 24\n"));
        StageCatalog.Runner(env).Run(single, stageName: "analyze");
        StageCatalog.Runner(env).Run(batched24, stageName: "analyze");

        string Summary(string name) => File.ReadAllText(View(name, Phase1Files.CanonicalSummary)).Replace($"\"experiment\": \"{name}\"", "", StringComparison.Ordinal);
        Assert.Equal(Summary("one-by-one"), Summary("many"));
    }

    [Fact]
    public void Bench_writes_its_numbers_and_leaks_no_tensor_across_batches()
    {
        var env = Env();
        var result = Bench.Run(SpecLoader.Load("default:tiny-llama"), env, new BenchOptions(Problems: 20, BatchSize: 4));

        Assert.Equal(20, result.Problems);
        Assert.Equal(4, result.BatchSize);
        Assert.True(result.ProblemsPerSecond > 0);
        Assert.Equal(0L, result.LiveTensorGrowth);
        var written = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(env.ExperimentRoot("tiny-llama"), "bench.json")))!;
        Assert.Equal(20, written["problems"]!.GetValue<int>());
        Assert.Null(written["speedup_vs_peer"]);
    }

    [SharedFact]
    public void Compare_works_across_layer_and_head_counts()
    {
        var (fixture, _) = FixtureSpec("tiny-gpt2");                 // 2 layers x 4 heads
        var generated = SpecLoader.Load("default:tiny-llama");         // 4 layers x 4 heads
        var (folder, _) = Comparison.Run(fixture, generated, Env());

        var compare = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "compare.json")))!;
        Assert.Equal(2, compare["model_comparison"]!["models"]!["fx-tiny-gpt2"]!["n_layers"]!.GetValue<int>());
        Assert.Equal(4, compare["model_comparison"]!["models"]!["tiny-llama"]!["n_layers"]!.GetValue<int>());
        var fields = compare["params_diff"]!.AsArray().Select(p => p!["field"]!.GetValue<string>()).ToList();
        Assert.Contains("model.arch", fields);
        Assert.Contains("model.source", fields);
        Assert.Contains("dataset.source", fields);
        Assert.Contains(compare["metrics"]!.AsArray(), m => m!["metric"]!.GetValue<string>() == "phase1.seed.attention_summary.hub_analysis.hub_score" && m["delta"] is not null);
    }

    // A spec of 80 problems, its model and sample run, and what a run killed after its first shard (problems 0..63,
    // cut for batch size 4) leaves behind, filled with a value no model computes. Returns the runner and the scratch.
    private (PipelineRunner Runner, string Scratch) KilledAfterFirstShard(PipelineEnvironment env, ExperimentSpec spec)
    {
        var runner = StageCatalog.Runner(env);
        runner.Run(spec, stageName: "model");
        runner.Run(spec, stageName: "sample");
        var key = runner.Plan(spec, stage: "extract").Single(p => p.Stage.Name == "extract").Key!;
        var scratch = Path.Combine(env.CacheRoot, ".partial", key);
        Directory.CreateDirectory(scratch);
        var (seedCells, latentCells) = (4 * 4 * 36, 4 * 4 * 7 * 9);
        Npy.Write(Path.Combine(scratch, "shard-0000000.seed.npy"), [64, seedCells], Enumerable.Repeat(0.125f, 64 * seedCells).ToArray(), half: false);
        Npy.Write(Path.Combine(scratch, "shard-0000000.latent.npy"), [64, latentCells],
            Enumerable.Repeat(0.125f, 64 * latentCells).ToArray(), half: false);
        Npy.Write(Path.Combine(scratch, "shard-0000000.value-weighted.npy"), [64, latentCells],
            Enumerable.Repeat(0.125f, 64 * latentCells).ToArray(), half: false);
        // The question-token and logit-lens arrays (4 layers × 4 heads, 7 rows; 5 kinds, 8 keys; 7 × 5 lens ids).
        var extra = new (string Name, int Cells)[]
        {
            ("qkind", 4 * 4 * 7 * 5), ("qtopkeys", 4 * 4 * 7 * 8), ("qtopweights", 4 * 4 * 7 * 8), ("lensids", 7 * 5),
        };
        foreach (var (name, cells) in extra)
            Npy.Write(Path.Combine(scratch, $"shard-0000000.{name}.npy"), [64, cells], Enumerable.Repeat(1f, 64 * cells).ToArray(), half: false);
        var ids = JsonNode.Parse(File.ReadAllText(View(spec.Name, Phase1Files.Dataset)))!.AsArray().Select(p => p!["gsm8k_id"]!.GetValue<string>()).ToList();
        var problems = Enumerable.Range(0, 64).Select(i => (JsonNode)new JsonObject
        {
            ["index"] = i, ["gsm8k_id"] = ids[i], ["question_length"] = 10, ["success"] = true, ["prompt_tokens"] = 20,
            ["logit_lens_top1"] = new JsonArray(1, 2, 3, 4, 5, 6, 7),
        });
        var meta = new JsonObject
        {
            ["Start"] = 0, ["Count"] = 64, ["Batch"] = 4, ["MaxNewTokens"] = 0,
            ["Cells"] = new JsonObject { ["seed"] = seedCells, ["latent"] = latentCells, ["value-weighted"] = latentCells,
                ["qkind"] = extra[0].Cells, ["qtopkeys"] = extra[1].Cells, ["qtopweights"] = extra[2].Cells, ["lensids"] = extra[3].Cells },
            ["Problems"] = new JsonArray([.. problems]),
        };
        File.WriteAllText(Path.Combine(scratch, "shard-0000000.json"), meta.ToJsonString());
        return (runner, scratch);
    }

    [Fact]
    public void An_interrupted_extract_resumes_from_its_finished_shards()
    {
        var env = Env();
        var spec = SpecLoader.Load(_dir.Write("resume.yaml", "extends: default:tiny-llama\nname: resume\ndataset:\n  sample: 80\nextraction:\n  batch_size: 4\n"));
        var (runner, scratch) = KilledAfterFirstShard(env, spec);

        var outcome = runner.Run(spec, stageName: "extract").Single(o => o.Stage == "extract");

        Assert.True(outcome.Executed);
        Assert.Contains("extract: 80/80 problems (64 reused)", _log.ToString(), StringComparison.Ordinal);
        var seed = Npy.Read(View("resume", Phase1Files.SeedRaw));
        Assert.Equal(0.125f, seed.Values[seed.Index(3, 1, 2, 0, 0)]);    // from the kept shard
        Assert.NotEqual(0.125f, seed.Values[seed.Index(70, 1, 2, 1, 0)]); // computed after resuming
        Assert.Equal(0f, seed.Values[seed.Index(70, 1, 2, 0, 0)]);
        Assert.False(Directory.Exists(scratch)); // removed once the entry is committed
    }

    [Fact]
    public void A_shard_cut_for_another_batch_size_is_recomputed_not_stitched_in()
    {
        // Given a shard of problems 0..63 left by a run with batch size 4, and a resumed run whose plan (batch 32)
        // cuts one shard of all 80 problems (as batch_size: auto does when the memory available changes),
        var env = Env();
        var spec = SpecLoader.Load(_dir.Write("replan.yaml", "extends: default:tiny-llama\nname: replan\ndataset:\n  sample: 80\nextraction:\n  batch_size: 4\n"));
        var (_, scratch) = KilledAfterFirstShard(env, spec);
        var resumed = SpecLoader.Load(_dir.Write("replan.yaml", "extends: default:tiny-llama\nname: replan\ndataset:\n  sample: 80\nextraction:\n  batch_size: 32\n"));
        var partial = Path.Combine(env.CacheRoot, ".partial");
        var key = StageCatalog.Runner(env).Plan(resumed, stage: "extract").Single(p => p.Stage.Name == "extract").Key!;
        Directory.Move(scratch, Path.Combine(partial, key)); // the same scratch, as if the key had not changed

        // when extract runs,
        StageCatalog.Runner(env).Run(resumed, stageName: "extract");

        // then every problem is computed by this run: nothing resumed, no value from the old shard, no zero-filled row.
        Assert.Contains("extract: 80/80 problems, ", _log.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("reused)", _log.ToString(), StringComparison.Ordinal);
        var seed = Npy.Read(View("replan", Phase1Files.SeedRaw));
        Assert.DoesNotContain(0.125f, seed.Values);
        Assert.All(Enumerable.Range(0, 80), n => Assert.NotEqual(0f, seed.Values[seed.Index(n, 1, 2, 1, 0)]));
    }
}
