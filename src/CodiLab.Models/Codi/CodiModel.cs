using System.Text.RegularExpressions;
using CodiLab.Models.Architectures;
using CodiLab.Models.Interventions;
using CodiLab.Models.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace CodiLab.Models.Codi;

/// <summary>How to load and run a CODI model folder.</summary>
/// <param name="TokenizerFolder">Where the tokenizer files are (default: the model folder).</param>
/// <param name="Load">Checkpoint file and LoRA settings.</param>
/// <param name="DType">Compute dtype: float32 or bfloat16.</param>
/// <param name="Device">cpu or cuda.</param>
/// <param name="NumLatent">Continuous thoughts fed after BOT; null: the folder's codi.json, else 6.</param>
/// <param name="Eos">EOS ids overriding the tokenizer's end tokens.</param>
public sealed record CodiOptions(
    string? TokenizerFolder = null,
    LoadOptions? Load = null,
    ScalarType DType = ScalarType.Float32,
    string Device = "cpu",
    int? NumLatent = null,
    IReadOnlyList<int>? Eos = null);

/// <summary>
/// The CODI special ids (docs/model-folder.md#special-ids): pad = V, bot = V+1, eot = V+2, EOS by <see cref="EosRule"/>
/// (and where it came from).
/// </summary>
public sealed record SpecialIds(int Pad, int Bot, int Eot, IReadOnlyList<int> Eos, int? Bos, string EosSource = "");

/// <summary>
/// One question through the CODI loop: its prompt ids, the attention row of the BOT query and of every
/// latent query (A[layer][head][key], float32), the logit-lens top-1 id at BOT and z1..zN, the greedy answer,
/// the L2 norm of every continuous thought (and the thoughts themselves, as fed, when traced here); under
/// interventions also the teacher-forced log-probability of the gold answer, the residuals read by
/// <see cref="ResidualCapture"/> probes (key → [d]) and the interventions applied; when
/// <see cref="CodiModel.CaptureValueNorms"/> is on, ‖W_O^h v_p‖ of every key the latent queries see; the logit-lens
/// top-k ids (<see cref="CodiModel.LogitLensK"/>, best first, [0] always the top-1 id) at BOT and z1..zN when traced here.
/// </summary>
public sealed record TraceResult(
    string Question,
    IReadOnlyList<int> InputIds,
    IReadOnlyDictionary<string, float[][][]> Attention,
    IReadOnlyList<int> LogitLensTop1,
    IReadOnlyList<int> AnswerIds,
    string AnswerText,
    IReadOnlyList<float> LatentNorms,
    IReadOnlyList<float[]>? Latents = null,
    double? GoldLogProb = null,
    IReadOnlyDictionary<string, float[]>? Residuals = null,
    IReadOnlyList<Intervention>? Interventions = null,
    float[][][]? ValueNorms = null,
    IReadOnlyList<int[]>? LogitLensTopK = null);

/// <summary>
/// A loaded CODI model and the official inference loop (docs/model-folder.md#the-codi-loop): prompt = [BOS] question BOT; the
/// post-norm hidden state at the last position goes through prj to give z1, which is fed at the next
/// position, and so on for N latents; then EOT and greedy decoding over ids &lt; V+2 until an EOS id.
/// </summary>
public sealed partial class CodiModel : IDisposable
{
    private CodiModel(LoadedCheckpoint loaded, CodiTokenizer tokenizer, CodiOptions options, SpecialIds ids, Device device)
    {
        Loaded = loaded;
        Tokenizer = tokenizer;
        Options = options;
        Ids = ids;
        Device = device;
    }

    /// <summary>The network and its load inventory.</summary>
    public LoadedCheckpoint Loaded { get; }

    /// <summary>The base model's tokenizer.</summary>
    public CodiTokenizer Tokenizer { get; }

    /// <summary>Settings it was loaded with.</summary>
    public CodiOptions Options { get; }

    /// <summary>Special ids in use.</summary>
    public SpecialIds Ids { get; }

    /// <summary>Where it runs.</summary>
    public Device Device { get; }

    private CausalLm Lm => Loaded.Network.Lm;

    /// <summary>
    /// Whether traces carry <see cref="TraceResult.ValueNorms"/>: [layer][head][key] = ‖W_O^h v_key‖ over the prompt
    /// (BOT included) and z1..zN, read from the KV cache after the last latent step (<see cref="HeadValueNorms"/>).
    /// Off by default, so parity traces are unchanged.
    /// </summary>
    public bool CaptureValueNorms { get; set; }

    /// <summary>Logit-lens ids kept per position (<see cref="TraceResult.LogitLensTopK"/>).</summary>
    public const int LogitLensK = 5;

    /// <summary>Continuous thoughts fed after BOT.</summary>
    public int NumLatent => Options.NumLatent ?? FolderSettings.Defaults.NumLatent;

    /// <summary>Loads a model folder (config, checkpoint, tokenizer) onto the device in the compute dtype.</summary>
    public static CodiModel Load(string folder, CodiOptions? options = null)
    {
        options ??= new CodiOptions();
        var loaded = CodiLoader.Load(folder, options.Load);
        CodiTokenizer tokenizer;
        EosChoice eos;
        try
        {
            var fields = BaseModelFields.Read(folder, options.TokenizerFolder);
            tokenizer = CodiTokenizer.Load(
                options.TokenizerFolder ?? folder, loaded.Config.Arch, loaded.Config.VocabSize, fields.ConfigStart);
            eos = EosRule.Resolve(options.Eos, tokenizer, fields, options.TokenizerFolder ?? folder);
        }
        catch
        {
            loaded.Network.Dispose();
            throw;
        }
        var v = loaded.Config.VocabSize;
        var device = new Device(options.Device);
        loaded.Network.to(options.DType).to(device).eval();
        options = options with { NumLatent = options.NumLatent ?? FolderSettings.Read(folder).NumLatent };
        return new CodiModel(loaded, tokenizer, options, new SpecialIds(v, v + 1, v + 2, eos.Ids, tokenizer.Bos, eos.Source), device);
    }

    /// <summary>A float32 CPU model from a checkpoint already loaded (doctor checks and traces one load).</summary>
    internal static CodiModel FromLoaded(string folder, LoadedCheckpoint loaded, CodiTokenizer tokenizer, EosChoice eos)
    {
        var v = loaded.Config.VocabSize;
        loaded.Network.eval();
        var options = new CodiOptions(NumLatent: FolderSettings.Read(folder).NumLatent);
        var ids = new SpecialIds(v, v + 1, v + 2, eos.Ids, tokenizer.Bos, eos.Source);
        return new CodiModel(loaded, tokenizer, options, ids, new Device("cpu"));
    }

    /// <summary>Prompt ids of a raw question: normalised as the official code does, [BOS] tokens BOT.</summary>
    public IReadOnlyList<int> PromptIds(string question) => PromptIdsAsGiven(CodiTokenizer.NormalizeQuestion(question));

    /// <summary>Prompt ids of a text fed as it is (the seed's raw questions, reference.json's normalised ones): [BOS] tokens BOT.</summary>
    public IReadOnlyList<int> PromptIdsAsGiven(string text) => [.. Tokenizer.Encode(text), Ids.Bot];

    /// <summary>Runs the CODI loop on a raw question.</summary>
    public TraceResult Trace(string question, int maxNewTokens = 256) => TraceIds(question, PromptIds(question), maxNewTokens);

    /// <summary>Runs the CODI loop on a raw question under interventions (docs/interventions.md).</summary>
    public TraceResult Trace(string question, int maxNewTokens, IReadOnlyList<Intervention> interventions, string? gold = null) =>
        TraceBatch([new Prompt(question, PromptIds(question), gold)], maxNewTokens, interventions)[0];

    /// <summary>Runs the CODI loop on prompt ids that already end with BOT.</summary>
    public TraceResult TraceIds(string question, IReadOnlyList<int> inputIds, int maxNewTokens) =>
        TraceBatch([new Prompt(question, inputIds)], maxNewTokens)[0];

    /// <summary>
    /// Traces many prompts in batches of similar length (<see cref="Batches"/>: little padding), returning
    /// results in the given order; a batch that throws is retried one prompt at a time and a prompt that still
    /// fails gives null (its error goes to <paramref name="onError"/>).
    /// </summary>
    public IReadOnlyList<TraceResult?> TraceMany(
        IReadOnlyList<Prompt> prompts, int batchSize, int maxNewTokens, Action<Prompt, Exception>? onError = null) =>
        TraceMany(prompts, batchSize, maxNewTokens, [], onError);

    /// <summary>Prompt positions a batch may compute per prompt token, at most (<see cref="Batches"/>).</summary>
    public const double MaxPadding = 1.15;

    /// <summary>
    /// The batches <see cref="TraceMany(IReadOnlyList{Prompt}, int, int, Action{Prompt, Exception}?)"/> forms from prompts
    /// of these lengths, as indices: sorted by length, then cut at <paramref name="batchSize"/> rows or earlier, where the
    /// next prompt would make the left-padded batch compute more than <see cref="MaxPadding"/> positions per token. A
    /// bigger batch size then never pads more than a smaller one would, so it is never slower for padding.
    /// </summary>
    public static IReadOnlyList<int[]> Batches(IReadOnlyList<int> lengths, int batchSize)
    {
        var order = Enumerable.Range(0, lengths.Count).OrderBy(i => lengths[i]).ToArray();
        var batches = new List<int[]>();
        for (int start = 0; start < order.Length;)
        {
            long tokens = lengths[order[start]];
            var count = 1;
            // Sorted ascending, so the next prompt is the longest: every row would pad to its length.
            while (count < batchSize && start + count < order.Length
                && (count + 1L) * lengths[order[start + count]] <= MaxPadding * (tokens + lengths[order[start + count]]))
                tokens += lengths[order[start + count++]];
            batches.Add(order[start..(start + count)]);
            start += count;
        }
        return batches;
    }

    /// <summary>
    /// <see cref="TraceMany(IReadOnlyList{Prompt}, int, int, Action{Prompt, Exception}?)"/> under interventions; per-row
    /// replacement values are indexed like <paramref name="prompts"/> and follow their prompt into its batch.
    /// </summary>
    public IReadOnlyList<TraceResult?> TraceMany(
        IReadOnlyList<Prompt> prompts, int batchSize, int maxNewTokens, IReadOnlyList<Intervention> interventions,
        Action<Prompt, Exception>? onError = null)
    {
        var results = new TraceResult?[prompts.Count];
        foreach (var chunk in Batches([.. prompts.Select(p => p.Ids.Count)], batchSize))
        {
            try
            {
                var traces = TraceBatch([.. chunk.Select(i => prompts[i])], maxNewTokens, InterventionRows.ForRows(interventions, chunk));
                for (int j = 0; j < chunk.Length; j++) results[chunk[j]] = traces[j];
            }
            catch (Exception e) when (e is not OutOfMemoryException && e is not CodiLabException)
            {
                foreach (var i in chunk)
                {
                    try
                    {
                        results[i] = TraceBatch([prompts[i]], maxNewTokens, InterventionRows.ForRows(interventions, [i]))[0];
                    }
                    catch (Exception inner) when (inner is not OutOfMemoryException && inner is not CodiLabException)
                    {
                        onError?.Invoke(prompts[i], chunk.Length > 1 ? inner : e);
                    }
                }
            }
        }
        return results;
    }

    /// <summary>
    /// A batch size that fits <paramref name="budgetBytes"/> for prompts up to <paramref name="maxPromptTokens"/>, at
    /// least 1, at most 256. The cost of a row is measured on the CPU (<see cref="MeasuredRowBytes"/>, with a quarter
    /// added for allocator slack); on CUDA, where TorchSharp reports no allocator statistics, it is
    /// <see cref="EstimatedRowBytes"/>, which assumes every layer's activations stay alive until the batch ends.
    /// </summary>
    public int AutoBatchSize(int maxPromptTokens, long budgetBytes)
    {
        // The measured cost never goes below one layer's working set, which a row needs however the allocator reuses memory.
        var estimate = EstimatedRowBytes(maxPromptTokens);
        var perRow = Options.Device == "cpu" && MeasuredRowBytes(maxPromptTokens) is { } measured
            ? Math.Max(measured + measured / 4, estimate / Loaded.Config.Layers)
            : estimate;
        return (int)Math.Clamp(budgetBytes / Math.Max(perRow, 1), 1, 256);
    }

    /// <summary>
    /// An upper estimate of one batch row's memory: per layer the attention scores and probabilities over T×T keys
    /// (with the mask added), Q/K/V/output and the residual stream, the MLP activations, for every layer (a batch's
    /// tensors are released when it ends), plus the KV cache, in the compute dtype's element size.
    /// </summary>
    public long EstimatedRowBytes(int maxPromptTokens)
    {
        var c = Loaded.Config;
        long t = maxPromptTokens + NumLatent + 1;
        long element = Options.DType == ScalarType.Float32 ? 4 : 2;
        var perLayer = 4L * c.Heads * t * t + 3L * t * c.Intermediate + 8L * t * c.Hidden + 2L * c.KvHeads * c.HeadDim * t;
        return element * (c.Layers * perLayer + 2L * c.Heads * c.HeadDim * t);
    }

    /// <summary>
    /// One batch row's memory as measured on this host: the peak resident growth of a traced batch of two prompts of
    /// <paramref name="maxPromptTokens"/> tokens minus that of one (the kernel's high-water mark, reset before each),
    /// or the whole growth of the single prompt when that is larger. Null where the peak cannot be read or reset
    /// (not Linux), or where neither batch grew the process (it ran in memory already held, as a small model can).
    /// </summary>
    public long? MeasuredRowBytes(int maxPromptTokens)
    {
        var ids = Enumerable.Repeat(Ids.Pad == 0 ? 1 : 0, Math.Max(1, maxPromptTokens - 1)).Append(Ids.Bot).ToList();
        var prompt = new Prompt("", ids);
        long? Growth(int rows)
        {
            GC.Collect();
            if (!ResidentMemory.ResetPeak() || ResidentMemory.Kb("VmRSS") is not { } before) return null;
            TraceBatch(Enumerable.Repeat(prompt, rows).ToList(), 0);
            return ResidentMemory.Kb("VmHWM") is { } peak ? (peak - before) * 1024 : null;
        }
        if (Growth(1) is not { } one || Growth(2) is not { } two) return null;
        // No growth at all means the batch ran in memory the process already held (a small model): nothing was measured.
        var row = Math.Max(two - one, Math.Max(one, two / 2));
        return row > 0 ? row : null;
    }

    /// <summary>A question and its prompt ids (ending with BOT).</summary>
    /// <param name="Question">The question text.</param>
    /// <param name="Ids">Prompt ids, BOT last.</param>
    /// <param name="Gold">The gold answer text (e.g. "18"); given, the trace also scores it teacher-forced
    /// (<see cref="TraceResult.GoldLogProb"/>).</param>
    public sealed record Prompt(string Question, IReadOnlyList<int> Ids, string? Gold = null);

    /// <summary>
    /// The CODI loop over a batch: prompts left-padded with the pad id, every step masked so no query sees a
    /// pad key, per-row position ids that ignore the padding (prompt 0..P−1, then z_k at P−1+k, EOT and answer
    /// after). Each row's result equals the batch-1 run (up to float rounding). Decoding stops per row at EOS.
    /// </summary>
    public IReadOnlyList<TraceResult> TraceBatch(IReadOnlyList<Prompt> prompts, int maxNewTokens) => TraceBatch(prompts, maxNewTokens, []);

    /// <summary>
    /// The CODI loop over a batch under interventions (docs/interventions.md): every forward pass is told its step
    /// and where each row's labels sit, latent replacements change what is fed at z_k, and a prompt with a gold
    /// answer is also scored teacher-forced (EOT, the training-format answer and EOS) before greedy decoding.
    /// Per-row replacement values are indexed like <paramref name="prompts"/>.
    /// </summary>
    public IReadOnlyList<TraceResult> TraceBatch(IReadOnlyList<Prompt> prompts, int maxNewTokens, IReadOnlyList<Intervention> interventions)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using var cache = new KvCache(Lm.Config.Layers);
        var b = prompts.Count;
        var lengths = prompts.Select(p => p.Ids.Count).ToArray();
        var layout = PositionLayout.Of(lengths, NumLatent);
        InterventionRows.Validate(interventions, Lm.Config, layout);
        var held = HeldLatents(prompts, interventions);
        var (width, offsets) = (layout.Width, layout.Offsets.ToArray());
        var rows = Enumerable.Range(0, b).Select(_ => new Dictionary<string, float[][][]>(StringComparer.Ordinal)).ToArray();
        var lens = Enumerable.Range(0, b).Select(_ => new Lens()).ToArray();
        var latents = Enumerable.Range(0, b).Select(_ => new List<float[]>()).ToArray();

        // Key-padding mask of the prompt [b, 1, 1, width] (0 visible, dtype's most negative finite value for pads).
        var padKeys = offsets.Any(o => o > 0) ? PadMask(offsets, width, Lm.EmbeddingTable.dtype) : null;
        var batch = new BatchLayout(lengths, offsets, width, padKeys, cache, layout,
            [.. interventions.Where(i => i is not LatentReplacement)], [.. interventions.OfType<LatentReplacement>()], held);
        var hidden = RunPrompts(prompts, batch, rows, lens);
        RunLatents(hidden, batch, rows, lens, latents);
        var norms = CaptureValueNorms ? ValueNormsOf(batch) : null;
        var gold = prompts.Any(p => p.Gold is not null) ? GoldLogProbs(prompts, batch) : null;
        var answers = DecodeAnswers(batch, maxNewTokens);
        return [.. Enumerable.Range(0, b).Select(i => new TraceResult(prompts[i].Question, prompts[i].Ids, rows[i], lens[i].Top1, answers[i],
            Tokenizer.Decode(answers[i], Lm.Config.VocabSize), [.. latents[i].Select(z => (float)Math.Sqrt(z.Sum(x => (double)x * x)))],
            latents[i], gold?[i], batch.ResidualsOf(i), interventions.Count > 0 ? interventions : null, norms?[i], lens[i].TopK))];
    }

    // ‖W_O^h v_p‖ per row [layer][head][key] over the row's own keys (prompt, BOT, z1..zN; padding dropped), read
    // before anything after the latents is appended to the cache.
    private float[][][][] ValueNormsOf(BatchLayout batch)
    {
        using var scope = NewDisposeScope();
        var layers = HeadValueNorms.Of(Lm, batch.Cache);
        var result = Enumerable.Range(0, batch.Rows).Select(_ => new float[layers.Count][][]).ToArray();
        for (int l = 0; l < layers.Count; l++)
        {
            using var all = layers[l].cpu(); // [b, H, T]
            var (h, t) = ((int)all.shape[1], (int)all.shape[2]);
            var flat = all.data<float>().ToArray();
            for (int i = 0; i < batch.Rows; i++)
                result[i][l] = [.. Enumerable.Range(0, h)
                    .Select(hh => flat.AsSpan((i * h + hh) * t + batch.Offsets[i], t - batch.Offsets[i]).ToArray())];
        }
        return result;
    }

    // One TraceBatch's shape: each row's prompt length and left padding, the padded width, the pad-key mask
    // (null when no row is padded), the KV cache every step appends to, the labelled positions, the interventions
    // of the forward passes, the latent replacements, the thoughts held fixed and what residual probes read.
    private sealed record BatchLayout(
        int[] Lengths, int[] Offsets, int Width, Tensor? PadKeys, KvCache Cache, PositionLayout Positions,
        IReadOnlyList<Intervention> Forward, IReadOnlyList<LatentReplacement> Latent, IReadOnlyList<float[]>[]? Held)
    {
        private readonly Dictionary<string, float[][]> _residuals = new(StringComparer.Ordinal);

        public int Rows => Lengths.Length;

        public StepInfo Step(StepKind kind, IReadOnlyList<bool>? active = null, bool teacherForced = false) =>
            new(kind, Positions, Cache.Length, active, teacherForced);

        public void Keep(LmOutput output)
        {
            foreach (var (key, values) in output.Residuals ?? new Dictionary<string, float[][]>()) _residuals[key] = values;
        }

        public IReadOnlyDictionary<string, float[]>? ResidualsOf(int row) => _residuals.Count == 0 ? null
            : _residuals.Where(r => r.Value[row] is not null).ToDictionary(r => r.Key, r => r.Value[row], StringComparer.Ordinal);
    }

    // Logit-lens and answer argmax run over ids < V+2: the official code masks only EOT.
    private int LensLimit => Ids.Eot;

    // The left-padded prompts in one pass (BOT last): the BOT query's attention rows and logit lens; returns the
    // last position's hidden state [b, 1, d].
    private Tensor RunPrompts(IReadOnlyList<Prompt> prompts, BatchLayout batch, Dictionary<string, float[][][]>[] rows, Lens[] lens)
    {
        var (b, width, offsets) = (batch.Rows, batch.Width, batch.Offsets);
        var flat = new long[b * width];
        var positions = new long[b * width];
        for (int i = 0; i < b; i++)
            for (int t = 0; t < width; t++)
            {
                flat[i * width + t] = t < offsets[i] ? Ids.Pad : prompts[i].Ids[t - offsets[i]];
                positions[i * width + t] = Math.Max(0, t - offsets[i]);
            }
        using var ids = tensor(flat, [b, width], device: Device);
        Tensor? promptMask = null, promptPositions = null;
        if (batch.PadKeys is not null)
        {
            var dtype = Lm.EmbeddingTable.dtype;
            // [b, 1, width, width]; a pad query keeps its own key, so no row is ever fully masked (real queries never see pads).
            using var own = eye(width, dtype: ScalarType.Bool, device: Device);
            promptMask = Attention.Causal(0, width, dtype, Device)!.add(batch.PadKeys).clamp_min(Attention.MinValue(dtype))
                .masked_fill(own, 0);
            promptPositions = tensor(positions, [b, width], device: Device);
        }
        var output = Lm.call(new LmInput(Lm.Embed(ids), batch.Cache, AttentionCapture.LastRow, promptMask, promptPositions,
            batch.Forward, batch.Step(StepKind.Prompt)));
        batch.Keep(output);
        Scatter(rows, "bot", output.Attention!, offsets);
        var hidden = output.Hidden[.., TensorIndex.Slice(-1), ..]; // [b, 1, d]
        AddArgmax(lens, Lm.Logits(hidden), LensLimit);
        return hidden;
    }

    // z_k = prj(hidden) fed back NumLatent times (or its replacement): each thought as fed kept per row, its
    // attention rows and logit lens.
    private void RunLatents(
        Tensor hidden, BatchLayout batch, Dictionary<string, float[][][]>[] rows, Lens[] lens, List<float[]>[] latents)
    {
        var b = batch.Rows;
        for (int k = 1; k <= NumLatent; k++)
        {
            using var step = NewDisposeScope();
            var z = FedLatent(Loaded.Network.Prj.call(hidden), k, batch); // [b, 1, d]
            var zs = z.to_type(ScalarType.Float32).cpu().data<float>().ToArray();
            var d = zs.Length / b;
            for (int i = 0; i < b; i++) latents[i].Add(zs.AsSpan(i * d, d).ToArray());
            var output = Lm.call(StepInput(z, batch, AttentionCapture.LastRow, k - 1, batch.Step(StepKind.Latent)));
            batch.Keep(output);
            Scatter(rows, $"z{k}", output.Attention!, batch.Offsets);
            hidden = output.Hidden.MoveToOuterDisposeScope();
            AddArgmax(lens, Lm.Logits(hidden), LensLimit);
        }
    }

    // EOT, then greedy decoding per row until that row's EOS or maxNewTokens.
    private List<int>[] DecodeAnswers(BatchLayout batch, int maxNewTokens)
    {
        var b = batch.Rows;
        var answers = Enumerable.Range(0, b).Select(_ => new List<int>()).ToArray();
        var done = new bool[b];
        var next = Enumerable.Repeat((long)Ids.Eot, b).ToArray();
        for (int n = 0; n < maxNewTokens && !done.All(x => x); n++)
        {
            using var step = NewDisposeScope();
            using var token = tensor(next, [b, 1], device: Device);
            var info = batch.Step(StepKind.Answer, [.. done.Select(x => !x)]);
            var output = Lm.call(StepInput(Lm.Embed(token), batch, AttentionCapture.None, NumLatent + n, info));
            batch.Keep(output);
            var logits = Lm.Logits(output.Hidden)[.., -1, TensorIndex.Slice(0, LensLimit)];
            var chosen = logits.argmax(-1).cpu().data<long>().ToArray();
            for (int i = 0; i < b; i++)
            {
                if (done[i]) continue;
                answers[i].Add((int)chosen[i]);
                next[i] = chosen[i];
                done[i] = Ids.Eos.Contains((int)chosen[i]);
            }
        }
        return answers;
    }

    // One new position per row after the prompt and `after` earlier steps: position P−1+after+1, pads masked.
    private LmInput StepInput(Tensor embeds, BatchLayout batch, AttentionCapture capture, int after, StepInfo step)
    {
        var (cache, padKeys, lengths) = (batch.Cache, batch.PadKeys, batch.Lengths);
        if (padKeys is null) return new LmInput(embeds, cache, capture, Interventions: batch.Forward, Step: step);
        var b = lengths.Length;
        var visible = zeros([b, 1, 1, cache.Length + 1 - padKeys.shape[3]], dtype: padKeys.dtype, device: Device);
        var mask = cat([padKeys, visible], 3);
        var positions = tensor(lengths.Select(p => (long)(p + after)).ToArray(), [b, 1], device: Device);
        return new LmInput(embeds, cache, capture, mask, positions, batch.Forward, step);
    }

    private Tensor PadMask(int[] offsets, int width, ScalarType dtype)
    {
        var values = new float[offsets.Length * width];
        for (int i = 0; i < offsets.Length; i++)
            for (int t = 0; t < offsets[i]; t++) values[i * width + t] = 1;
        using var blocked = tensor(values, [offsets.Length, 1, 1, width], device: Device);
        return blocked.mul(Attention.MinValue(dtype)).to_type(dtype);
    }

    // One row's logit lens: the top-1 id and the top-k ids of every position read so far.
    private sealed class Lens
    {
        public List<int> Top1 { get; } = [];

        public List<int[]> TopK { get; } = [];
    }

    // Argmax over ids < limit of the last position, per row, and the top-k ids: the argmax first, then the best of the
    // rest, so [0] is the top-1 id even when logits tie (argmax and topk may break a tie differently).
    private static void AddArgmax(Lens[] lens, Tensor logits, int limit)
    {
        using var last = logits[.., -1, TensorIndex.Slice(0, limit)];
        var chosen = last.argmax(-1).cpu().data<long>().ToArray();
        var k = Math.Min(LogitLensK + 1, limit);
        var (_, top) = last.topk(k, dim: -1, largest: true, sorted: true);
        var ranked = top.cpu().data<long>().ToArray();
        for (int i = 0; i < lens.Length; i++)
        {
            var best = (int)chosen[i];
            lens[i].Top1.Add(best);
            var rest = ranked.AsSpan(i * k, k).ToArray().Select(x => (int)x).Where(x => x != best);
            lens[i].TopK.Add([best, .. rest.Take(Math.Min(LogitLensK, limit) - 1)]);
        }
    }

    // Per-layer [b, h, 1, T] probabilities -> each row's A[layer][head][key] (its own keys only), float32 on the CPU.
    private static void Scatter(Dictionary<string, float[][][]>[] rows, string query, IReadOnlyList<Tensor> layers, int[] offsets)
    {
        for (int i = 0; i < rows.Length; i++) rows[i][query] = new float[layers.Count][][];
        for (int l = 0; l < layers.Count; l++)
        {
            using var all = layers[l].to_type(ScalarType.Float32).cpu(); // [b, h, 1, T]
            var (b, h, t) = ((int)all.shape[0], (int)all.shape[1], (int)all.shape[3]);
            var flat = all.data<float>().ToArray();
            for (int i = 0; i < b; i++)
                rows[i][query][l] = [.. Enumerable.Range(0, h)
                    .Select(hh => flat.AsSpan((i * h + hh) * t + offsets[i], t - offsets[i]).ToArray())];
        }
    }

    /// <summary>The official answer parser: the last number in the text (commas removed), or null.</summary>
    public static double? ParseAnswer(string text)
    {
        var matches = NumberPattern().Matches(text.Replace(",", "", StringComparison.Ordinal));
        return matches.Count == 0 ? null : double.Parse(matches[^1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"-?\d+\.?\d*")]
    private static partial Regex NumberPattern();

    /// <inheritdoc />
    public void Dispose() => Loaded.Network.Dispose();
}

/// <summary>The process's resident memory as Linux reports it (/proc/self/status), for <see cref="CodiModel.MeasuredRowBytes"/>.</summary>
internal static class ResidentMemory
{
    /// <summary>A /proc/self/status field in KiB (VmRSS, VmHWM), or null off Linux.</summary>
    public static long? Kb(string field)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                    return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // not Linux
        }
        return null;
    }

    /// <summary>Sets the high-water mark back to the current resident set; false where that is not possible.</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            return false;
        }
    }
}
