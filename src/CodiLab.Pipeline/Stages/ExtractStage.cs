using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CodiLab.Models;
using CodiLab.Models.Codi;
using CodiLab.Pipeline.Analysis;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;
using CodiLab.Specs;
using TorchSharp;

namespace CodiLab.Pipeline.Stages;

/// <summary>
/// Phase 1, stage 2 (seed script 2, done right): the CODI loop over every sampled problem (raw question text as
/// the seed fed it; BOS for LLaMA; BOT; z1..zK), capturing each query's attention row once and deriving both
/// conventions from it: <c>attention_patterns_raw.npy</c> [N, L, H, 6, 6] float16 (the seed's matrix, off-by-one
/// included) and <c>latent_attention_raw.npy</c> [N, L, H, K+1, K+3] float32 (labelled latent view). Works in
/// shards kept in the stage's scratch folder, so an interrupted run resumes; logs done/total, rate and ETA.
/// </summary>
public static class ExtractStage
{
    /// <summary>Seed-convention array.</summary>
    public const string SeedRaw = "attention_patterns_raw.npy";

    /// <summary>Latent-view array.</summary>
    public const string LatentRaw = "latent_attention_raw.npy";

    /// <summary>Metadata (seed fields plus labels and per-problem prompt lengths).</summary>
    public const string Metadata = "attention_metadata.json";

    /// <summary>Problems per shard at least (a shard holds whole batches, sorted by length inside).</summary>
    public const int ShardSize = 64;

    /// <summary>
    /// The batch size a spec asks for. auto: what <see cref="CodiModel.AutoBatchSize"/> fits in a quarter of the
    /// memory available to the process on the CPU, or in 16 GiB on CUDA (TorchSharp reports no free device memory).
    /// </summary>
    public static int BatchSize(ExperimentSpec spec, CodiModel model, int maxPromptTokens)
    {
        if (spec.IntOrWord("extraction.batch_size") is { } n) return checked((int)n);
        var budget = model.Options.Device == "cuda" ? 16L << 30 : GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4;
        return model.AutoBatchSize(maxPromptTokens, budget);
    }

    /// <summary>The stage for a spec.</summary>
    public static Stage For(ExperimentSpec spec) => new(
        Name: "extract",
        Phase: "Phase1",
        Version: 1,
        Reads: ["model.arch", "model.source", "model.lora.r", "model.lora.alpha", "model.num_latent", "model.dtype", "model.device", "extraction.batch_size", "extraction.max_new_tokens"],
        Upstream: spec.Text("model.source") == "generated" ? ["sample", "model"] : ["sample"],
        Outputs: [SeedRaw, LatentRaw, Metadata],
        Externals: ModelStage.Resolve,
        Execute: Run);

    /// <summary>One sampled problem as the dataset JSON holds it.</summary>
    public sealed record Problem(string Gsm8kId, string Question, string Answer);

    /// <summary>Reads the sample stage's dataset JSON.</summary>
    public static IReadOnlyList<Problem> ReadDataset(string path) =>
        [.. JsonNode.Parse(File.ReadAllText(path))!.AsArray().Select(n => new Problem(n!["gsm8k_id"]!.GetValue<string>(), n["question"]!.GetValue<string>(), n["answer"]!.GetValue<string>()))];

    /// <summary>The device a spec asks for: auto is CUDA when the loaded libtorch has it.</summary>
    public static string Device(ExperimentSpec spec) => spec.Text("model.device") switch
    {
        "auto" => torch.cuda.is_available() ? "cuda" : "cpu",
        var d => d!,
    };

    /// <summary>Loads the spec's model.</summary>
    public static CodiModel LoadModel(StageContext ctx)
    {
        TorchRuntime.Initialize();
        var s = ctx.Spec;
        var device = Device(s);
        if (device == "cuda" && !torch.cuda.is_available())
            throw new CodiLabException("model.device is cuda but the loaded libtorch has no CUDA.", s.MarkOf("model.device").ToString(),
                $"load a CUDA libtorch with --libtorch DIR or {TorchRuntime.LibTorchVariable} (e.g. a Python PyTorch install's torch/lib), or set model.device: cpu.", ExitCodes.BadInput);
        return CodiModel.Load(ModelStage.FolderOf(ctx), new CodiOptions(
            ctx.Externals.TryGetValue("tokenizer", out var tok) ? tok.Path : null,
            new LoadOptions(checked((int)s.Int("model.lora.r")), s.Number("model.lora.alpha")),
            DTypes.Parse(s.Text("model.dtype")!, s.MarkOf("model.dtype").ToString()), device, checked((int)s.Int("model.num_latent"))));
    }

    private sealed record ShardMeta(int Start, int Count, List<ProblemMeta> Problems);

    private sealed record ProblemMeta(int Index, string Gsm8kId, int QuestionLength, int PromptTokens, bool Success, string? Error, int[] LogitLensTop1,
        string? AnswerText = null, double? Predicted = null, bool? Correct = null);

    private static void Run(StageContext ctx)
    {
        var spec = ctx.Spec;
        var problems = ReadDataset(ctx.Input("sample", SampleStage.Output));
        using var model = LoadModel(ctx);
        var config = model.Loaded.Config;
        var (layers, heads, k) = (config.Layers, config.Heads, model.NumLatent);
        var seedCells = layers * heads * Conventions.SeedSize * Conventions.SeedSize;
        var latentCells = layers * heads * (k + 1) * (k + 3);
        var seed = new float[problems.Count * seedCells];
        var latent = new float[problems.Count * latentCells];
        var metas = new List<ProblemMeta>();
        Directory.CreateDirectory(ctx.ScratchDirectory);
        var clock = Stopwatch.StartNew();
        var (resumed, computed) = (0, 0);
        var allPrompts = problems.Select(p => new CodiModel.Prompt(p.Question, model.PromptIdsAsGiven(p.Question))).ToList();
        var batch = BatchSize(spec, model, allPrompts.Max(p => p.Ids.Count));
        var decode = checked((int)spec.Int("extraction.max_new_tokens"));
        if (spec.IntOrWord("extraction.batch_size") is null) ctx.Environment.Log.WriteLine($"[{spec.Name}] extract: batch_size auto -> {batch}");
        var shardSize = Math.Max(ShardSize, 4 * batch);
        for (int start = 0; start < problems.Count; start += shardSize)
        {
            var count = Math.Min(shardSize, problems.Count - start);
            var shard = Path.Combine(ctx.ScratchDirectory, $"shard-{start:D7}");
            ShardMeta meta;
            if (File.Exists(shard + ".json"))
            {
                meta = JsonSerializer.Deserialize<ShardMeta>(File.ReadAllText(shard + ".json"))!;
                Npy.Read(shard + ".seed.npy").Values.CopyTo(seed, (long)start * seedCells);
                Npy.Read(shard + ".latent.npy").Values.CopyTo(latent, (long)start * latentCells);
                resumed += count;
            }
            else
            {
                meta = new ShardMeta(start, count, []);
                var prompts = allPrompts.GetRange(start, count);
                var traces = model.TraceMany(prompts, batch, decode,
                    (p, e) => ctx.Environment.Log.WriteLine($"[{spec.Name}] extract: problem '{p.Question[..Math.Min(40, p.Question.Length)]}…' failed: {e.Message}"));
                for (int j = 0; j < count; j++)
                {
                    var i = start + j;
                    var p = problems[i];
                    if (traces[j] is { } trace)
                    {
                        Conventions.Seed(trace).CopyTo(seed, (long)i * seedCells);
                        Conventions.Latent(trace, k).CopyTo(latent, (long)i * latentCells);
                        var predicted = decode > 0 ? CodiModel.ParseAnswer(trace.AnswerText) : null;
                        meta.Problems.Add(new ProblemMeta(i, p.Gsm8kId, p.Question.Length, trace.InputIds.Count, true, null, [.. trace.LogitLensTop1],
                            decode > 0 ? trace.AnswerText : null, predicted, decode > 0 ? predicted is { } v && Gold(p.Answer) is { } g && v == g : null));
                    }
                    else
                    {
                        // The seed's rule (SEED.md §3.3): the slot stays zero, is flagged, and still counts.
                        Array.Fill(latent, float.NaN, i * latentCells, latentCells);
                        meta.Problems.Add(new ProblemMeta(i, p.Gsm8kId, p.Question.Length, 0, false, "the CODI loop failed on this problem (see the log)", []));
                    }
                }
                Npy.Write(shard + ".seed.npy", [count, seedCells], seed.AsSpan(start * seedCells, count * seedCells), half: false);
                Npy.Write(shard + ".latent.npy", [count, latentCells], latent.AsSpan(start * latentCells, count * latentCells), half: false);
                Hashing.WriteAtomic(shard + ".json", JsonSerializer.Serialize(meta)); // written last: marks the shard complete
                computed += count;
            }
            metas.AddRange(meta.Problems);
            var done = start + count;
            var rate = computed / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            var eta = computed == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $", ETA {(problems.Count - done) / rate:0}s");
            ctx.Environment.Log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{spec.Name}] extract: {done}/{problems.Count} problems ({resumed} resumed), {rate:0.0} problems/s{eta}"));
        }

        Npy.Write(ctx.Output(SeedRaw), [problems.Count, layers, heads, Conventions.SeedSize, Conventions.SeedSize], seed, half: true);
        Npy.Write(ctx.Output(LatentRaw), [problems.Count, layers, heads, k + 1, k + 3], latent, half: false);
        var metadata = new JsonObject
        {
            ["model_name"] = spec.Text("model.source") == "generated" ? $"generated-{spec.Text("model.arch")}-seed{spec.Seed}" : Path.GetFileName(Path.TrimEndingDirectorySeparator(spec.ExpandPath("model.path")!)),
            ["model_path"] = spec.Text("model.source") == "generated" ? "generated" : spec.Text("model.path"),
            ["n_problems"] = problems.Count,
            ["n_layers"] = layers,
            ["n_heads"] = heads,
            ["continuous_thought_positions"] = new JsonArray([.. Enumerable.Range(0, Conventions.SeedSize).Select(i => (JsonNode)i)]),
            ["dataset_path"] = SampleStage.Output,
            ["problems"] = new JsonArray([.. metas.Select(m => (JsonNode)ProblemJson(m))]),
            ["num_latent"] = k,
            ["max_new_tokens"] = decode,
            ["accuracy"] = decode > 0 ? new JsonObject { ["correct"] = metas.Count(m => m.Correct == true), ["total"] = metas.Count } : null,
            ["dtype"] = spec.Text("model.dtype"),
            ["device"] = Device(spec),
            ["conventions"] = new JsonObject
            {
                ["seed"] = new JsonObject
                {
                    ["file"] = SeedRaw, ["layout"] = "[problem, layer, head, row, column], float16",
                    ["rows_really"] = Labels(Conventions.SeedRowsReally), ["columns_really"] = Labels(Conventions.SeedColumnsReally),
                    ["cell"] = "M[s, j] = A(z_s -> z_{j+1}) for j < s; row 0, column 5, the diagonal and above are structural zeros",
                },
                ["latent"] = new JsonObject
                {
                    ["file"] = LatentRaw, ["layout"] = "[problem, layer, head, query, key], float32; NaN = not visible",
                    ["rows"] = Labels(Conventions.LatentRows(k)), ["columns"] = Labels(Conventions.LatentColumns(k)),
                    ["cell"] = "A(query -> key); 'question' sums P1..P(Q-1); each row sums to 1",
                },
            },
        };
        Phase1Stages.WriteJson(ctx.Output(Metadata), metadata);
    }

    // The gold answer of a dataset record (the text after ####, commas removed), as a number.
    private static double? Gold(string answer) =>
        double.TryParse(answer.Replace(",", "", StringComparison.Ordinal).Trim(), System.Globalization.NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;

    private static JsonArray Labels(IEnumerable<string> labels) => new([.. labels.Select(l => (JsonNode)l)]);

    private static JsonObject ProblemJson(ProblemMeta m)
    {
        var o = new JsonObject { ["index"] = m.Index, ["gsm8k_id"] = m.Gsm8kId, ["question_length"] = m.QuestionLength, ["success"] = m.Success };
        if (m.Error is not null) o["error"] = m.Error;
        else
        {
            o["prompt_tokens"] = m.PromptTokens;
            o["logit_lens_top1"] = new JsonArray([.. m.LogitLensTop1.Select(i => (JsonNode)i)]);
            if (m.Correct is { } correct)
            {
                o["answer_text"] = m.AnswerText;
                o["predicted"] = m.Predicted;
                o["correct"] = correct;
            }
        }
        return o;
    }
}
