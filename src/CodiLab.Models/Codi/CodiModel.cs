using System.Text.RegularExpressions;
using CodiLab.Models.Architectures;
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

/// <summary>The CODI special ids (CODI.md §2): pad = V, bot = V+1, eot = V+2, EOS from the tokenizer.</summary>
public sealed record SpecialIds(int Pad, int Bot, int Eot, IReadOnlyList<int> Eos, int? Bos);

/// <summary>
/// One question through the CODI loop: its prompt ids, the attention row of the BOT query and of every
/// latent query (A[layer][head][key], float32), the logit-lens top-1 id at BOT and z1..zN, the greedy answer,
/// the L2 norm of every continuous thought (and the thoughts themselves when traced here).
/// </summary>
public sealed record TraceResult(
    string Question,
    IReadOnlyList<int> InputIds,
    IReadOnlyDictionary<string, float[][][]> Attention,
    IReadOnlyList<int> LogitLensTop1,
    IReadOnlyList<int> AnswerIds,
    string AnswerText,
    IReadOnlyList<float> LatentNorms,
    IReadOnlyList<float[]>? Latents = null);

/// <summary>
/// A loaded CODI model and the official inference loop (CODI.md §4): prompt = [BOS] question BOT; the
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

    /// <summary>Continuous thoughts fed after BOT.</summary>
    public int NumLatent => Options.NumLatent ?? FolderSettings.Defaults.NumLatent;

    /// <summary>Loads a model folder (config, checkpoint, tokenizer) onto the device in the compute dtype.</summary>
    public static CodiModel Load(string folder, CodiOptions? options = null)
    {
        options ??= new CodiOptions();
        var loaded = CodiLoader.Load(folder, options.Load);
        var tokenizer = CodiTokenizer.Load(options.TokenizerFolder ?? folder, loaded.Config.Arch, loaded.Config.VocabSize);
        var v = loaded.Config.VocabSize;
        var eos = options.Eos ?? tokenizer.Eos;
        if (eos.Count == 0)
            throw new ModelFormatException("the tokenizer names no end-of-sequence token.", options.TokenizerFolder ?? folder, "give the EOS ids explicitly (model.eos in the spec, --eos on the command line).");
        var device = new Device(options.Device);
        loaded.Network.to(options.DType).to(device).eval();
        options = options with { NumLatent = options.NumLatent ?? FolderSettings.Read(folder).NumLatent };
        return new CodiModel(loaded, tokenizer, options, new SpecialIds(v, v + 1, v + 2, eos, tokenizer.Bos), device);
    }

    /// <summary>Prompt ids of a raw question: normalised as the official code does, [BOS] tokens BOT.</summary>
    public IReadOnlyList<int> PromptIds(string question) => [.. Tokenizer.Encode(CodiTokenizer.NormalizeQuestion(question)), Ids.Bot];

    /// <summary>Runs the CODI loop on a raw question.</summary>
    public TraceResult Trace(string question, int maxNewTokens = 256) => TraceIds(question, PromptIds(question), maxNewTokens);

    /// <summary>Runs the CODI loop on prompt ids that already end with BOT.</summary>
    public TraceResult TraceIds(string question, IReadOnlyList<int> inputIds, int maxNewTokens)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using var cache = new KvCache(Lm.Config.Layers);
        var rows = new Dictionary<string, float[][][]>(StringComparer.Ordinal);
        var lens = new List<int>();
        var latents = new List<float[]>();
        var lensLimit = Ids.Eot; // ids < V+2: the official code masks only EOT

        using var ids = tensor(inputIds.Select(i => (long)i).ToArray(), [1, inputIds.Count], device: Device);
        var output = Lm.call(new LmInput(Lm.Embed(ids), cache, AttentionCapture.LastRow));
        rows["bot"] = Rows(output.Attention!);
        var hidden = output.Hidden[.., TensorIndex.Slice(-1), ..]; // [1, 1, d]
        lens.Add(Argmax(Lm.Logits(hidden), lensLimit));
        for (int k = 1; k <= NumLatent; k++)
        {
            using var step = NewDisposeScope();
            var z = Loaded.Network.Prj.call(hidden); // [1, 1, d]
            latents.Add(z.to_type(ScalarType.Float32).cpu().data<float>().ToArray());
            output = Lm.call(new LmInput(z, cache, AttentionCapture.LastRow));
            rows[$"z{k}"] = Rows(output.Attention!);
            hidden = output.Hidden.MoveToOuterDisposeScope();
            lens.Add(Argmax(Lm.Logits(hidden), lensLimit));
        }

        var answer = new List<int>();
        var next = Ids.Eot;
        for (int i = 0; i < maxNewTokens; i++)
        {
            using var step = NewDisposeScope();
            using var token = tensor(new long[] { next }, [1, 1], device: Device);
            output = Lm.call(new LmInput(Lm.Embed(token), cache));
            next = Argmax(Lm.Logits(output.Hidden), lensLimit);
            answer.Add(next);
            if (Ids.Eos.Contains(next)) break;
        }
        return new TraceResult(question, inputIds, rows, lens, answer, Tokenizer.Decode(answer, Lm.Config.VocabSize),
            [.. latents.Select(z => (float)Math.Sqrt(z.Sum(x => (double)x * x)))], latents);
    }

    // Argmax over ids < limit of the last position's logits [1, t, V+3].
    private static int Argmax(Tensor logits, int limit) =>
        (int)logits[0, -1, TensorIndex.Slice(0, limit)].argmax().item<long>();

    // Per-layer [1, h, 1, T] probabilities -> A[layer][head][key] in float32 on the CPU.
    private static float[][][] Rows(IReadOnlyList<Tensor> layers)
    {
        var result = new float[layers.Count][][];
        for (int l = 0; l < layers.Count; l++)
        {
            using var row = layers[l][0, .., 0, ..].to_type(ScalarType.Float32).cpu(); // [h, T]
            var (h, t) = ((int)row.shape[0], (int)row.shape[1]);
            var flat = row.data<float>().ToArray();
            result[l] = Enumerable.Range(0, h).Select(i => flat.AsSpan(i * t, t).ToArray()).ToArray();
        }
        return result;
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
