using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CodiLab.Models.Architectures;
using CodiLab.Models.Checkpoints;
using static TorchSharp.torch;

namespace CodiLab.Models.Codi;

/// <summary>The shape of a generated model.</summary>
/// <param name="Layers">Transformer blocks.</param>
/// <param name="Hidden">Model width.</param>
/// <param name="Heads">Attention heads.</param>
/// <param name="KvHeads">Key/value heads (LLaMA; GPT-2 uses Heads).</param>
/// <param name="Intermediate">MLP width.</param>
/// <param name="Ranks">BPE ranks taken from cl100k_base (the first 256 are the single bytes).</param>
/// <param name="LoraR">LoRA rank.</param>
/// <param name="LoraAlpha">LoRA alpha.</param>
public sealed record TinyShape(
    int Layers = 4, int Hidden = 64, int Heads = 4, int KvHeads = 2, int Intermediate = 256, int Ranks = 512, int LoraR = 128,
    double LoraAlpha = 32)
{
    /// <summary>The embedded default shape.</summary>
    public static TinyShape Default { get; } = new();

    /// <summary>
    /// Named shapes: <c>tiny</c> (the default specs'), and the real bodies of GPT-2 124M and Llama-3.2-1B for
    /// benchmarks on hosts without Python (their vocabulary stays the 512-rank one, so only the LM head is small).
    /// </summary>
    public static IReadOnlyDictionary<string, TinyShape> Presets { get; } = new Dictionary<string, TinyShape>(StringComparer.Ordinal)
    {
        ["tiny"] = Default,
        ["gpt2-124m"] = new(Layers: 12, Hidden: 768, Heads: 12, KvHeads: 12, Intermediate: 3072),
        ["llama-1b"] = new(Layers: 16, Hidden: 2048, Heads: 32, KvHeads: 8, Intermediate: 8192),
    };
}

/// <summary>
/// Writes a tiny random CODI model folder in the official layout (docs/model-folder.md#generated-models): config.json of the real
/// architecture, <c>model.safetensors</c> with the PEFT/CODI key names (bf16 base weights, fp32 LoRA factors
/// and prj, as the official code saves them), a tokenizer built offline from the first ranks of
/// <c>cl100k_base</c> (LLaMA: <c>original/tokenizer.model</c> + Llama-3 specials after the ranks, as Meta ships
/// it; GPT-2: <c>vocab.json</c> + <c>merges.txt</c> + &lt;|endoftext|&gt;), and <c>codi.json</c> recording
/// how it was made. Weights come from <see cref="Random"/> seeded with the seed (uniform, integer-exact on every
/// platform), so one seed always gives the same bytes. The folder is then read back through the loader.
/// </summary>
public static class TinyModel
{
    private const int Llama3Specials = 256;

    /// <summary>Writes the folder (replacing its files) and returns the checkpoint's SHA-256.</summary>
    public static string Write(string arch, int seed, string folder, TinyShape? shape = null, int numLatent = 6)
    {
        shape ??= TinyShape.Default;
        if (arch is not ("gpt2" or "llama"))
            throw new ModelFormatException($"architecture '{arch}' is not supported.", "--arch", "use llama or gpt2.");
        Directory.CreateDirectory(folder);
        var ranks = Cl100kRanks(shape.Ranks);
        int vocab;
        if (arch == "llama")
        {
            vocab = ranks.Count + Llama3Specials;
            Directory.CreateDirectory(Path.Combine(folder, "original"));
            WriteText(Path.Combine(folder, "original", "tokenizer.model"),
                string.Concat(ranks.Select((bytes, i) => $"{Convert.ToBase64String(bytes)} {i}\n")));
        }
        else
        {
            vocab = ranks.Count + 1; // <|endoftext|> last, as in GPT-2
            WriteGpt2Vocabulary(folder, ranks);
        }
        var config = ConfigJson(arch, shape, vocab);
        WriteText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(config, config.GetType(), Indented));
        var modelConfig = ModelConfig.Read(folder);
        var tensors = Weights(modelConfig, shape, seed);
        var checkpoint = Path.Combine(folder, "model.safetensors");
        SafeTensors.Write(checkpoint, tensors);
        var tokenizer = $"first {ranks.Count} ranks of cl100k_base (Microsoft.ML.Tokenizers.Data.Cl100kBase)"
            + (arch == "llama" ? " + 256 Llama-3 special tokens" : " + <|endoftext|>");
        var meta = new CodiSettingsFile(arch, shape.LoraR, shape.LoraAlpha, numLatent, vocab, vocab, vocab + 1, vocab + 2, seed, "codilab make-model", tokenizer);
        WriteText(Path.Combine(folder, "codi.json"), JsonSerializer.Serialize(meta, Indented));
        using var sha = System.Security.Cryptography.SHA256.Create();
        using var stream = File.OpenRead(checkpoint);
        return Convert.ToHexStringLower(sha.ComputeHash(stream));
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static object ConfigJson(string arch, TinyShape s, int vocab) => arch == "gpt2"
        ? new Gpt2ConfigFile("gpt2", ["GPT2LMHeadModel"], vocab, s.Hidden, s.Layers, s.Heads, s.Intermediate, 1024, 1024, "gelu_new", 1e-5,
            vocab - 1, vocab - 1, true)
        : new LlamaConfigFile("llama", ["LlamaForCausalLM"], vocab, s.Hidden, s.Layers, s.Heads, s.KvHeads, s.Hidden / s.Heads, s.Intermediate,
            131072, 1e-5, 500000.0, new RopeScalingFile("llama3", 32.0, 1.0, 4.0, 8192), "silu", vocab - Llama3Specials,
            [vocab - Llama3Specials + 1, vocab - Llama3Specials + 8, vocab - Llama3Specials + 9], true);

    // The official key layout: codi.base_model.model.<HF name>; LoRA targets as base_layer + lora_A/lora_B.
    private static Dictionary<string, RawTensor> Weights(ModelConfig config, TinyShape shape, int seed)
    {
        var random = new Random(seed);
        var result = new Dictionary<string, RawTensor>(StringComparer.Ordinal);
        string[] targets = config.Arch == "gpt2" ? ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"]
            : ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
        using var network = new CodiNetwork(config);
        foreach (var (name, parameter) in network.named_parameters())
        {
            var dims = parameter.shape;
            var isNorm = name.Contains("ln", StringComparison.Ordinal) || name.Contains("norm", StringComparison.Ordinal);
            if (name.StartsWith("prj.", StringComparison.Ordinal))
            {
                var center = isNorm && name.EndsWith(".weight", StringComparison.Ordinal) ? 1.0 : 0.0;
                result[name] = Uniform(random, dims, center, isNorm ? 0.1 : FanIn(dims), StoredType.Float32);
                continue;
            }
            var hf = name[3..]; // drop "lm."
            var module = hf[..hf.LastIndexOf('.')];
            var isTarget = targets.Any(t => module.EndsWith(t, StringComparison.Ordinal));
            var key = "codi.base_model.model." + (isTarget ? module + ".base_layer" + hf[module.Length..] : hf);
            if (isNorm)
                result[key] = Uniform(
                    random, dims, name.EndsWith(".weight", StringComparison.Ordinal) ? 1.0 : 0.0, 0.1, StoredType.BFloat16);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) result[key] = Uniform(random, dims, 0, 0.02, StoredType.BFloat16);
            else if (dims.Length == 2 && (hf.Contains("wte", StringComparison.Ordinal)
                || hf.Contains("embed_tokens", StringComparison.Ordinal) || hf.Contains("wpe", StringComparison.Ordinal)))
                result[key] = Uniform(random, dims, 0, hf.Contains("wpe", StringComparison.Ordinal) ? 0.1 : 1.0, StoredType.BFloat16);
            else
            {
                // GPT-2's Conv1D stores [in, out]; our Linear layout is [out, in].
                var conv = config.Arch == "gpt2" && isTarget;
                // Fan-in scaling keeps attention logits O(1): sharper random heads make near-ties whose winner
                // flips with the last bit of a matmul, and the pinned summaries would depend on the CPU.
                result[key] = Uniform(random, conv ? [dims[1], dims[0]] : dims, 0, FanIn(dims), StoredType.BFloat16);
                if (isTarget)
                {
                    var prefix = "codi.base_model.model." + module;
                    result[prefix + ".lora_A.default.weight"] = Uniform(random, [shape.LoraR, dims[1]], 0, FanIn(dims), StoredType.Float32);
                    result[prefix + ".lora_B.default.weight"] = Uniform(random, [dims[0], shape.LoraR], 0, 0.02, StoredType.Float32);
                }
            }
        }
        return result;
    }

    private static double FanIn(long[] dims) => 1.0 / Math.Sqrt(dims.Length == 2 ? dims[1] : dims[0]);

    // Uniform values with the given mean and standard deviation (half-width std·√3).
    private static RawTensor Uniform(Random random, long[] dims, double mean, double std, StoredType type)
    {
        var count = dims.Aggregate(1L, (a, b) => a * b);
        var values = new float[count];
        var width = std * Math.Sqrt(3);
        for (long i = 0; i < count; i++) values[i] = (float)(mean + (2 * random.NextDouble() - 1) * width);
        using var t = tensor(values, dims);
        using var typed = type == StoredType.BFloat16 ? t.to_type(ScalarType.BFloat16) : t.alias();
        return RawTensor.FromTensor(typed);
    }

    /// <summary>The first <paramref name="count"/> BPE ranks of cl100k_base as byte strings (rank = index).</summary>
    public static IReadOnlyList<byte[]> Cl100kRanks(int count)
    {
        var assembly = Assembly.Load("Microsoft.ML.Tokenizers.Data.Cl100kBase");
        using var deflated = assembly.GetManifestResourceStream("cl100k_base.tiktoken.deflate")
            ?? throw new InvalidOperationException("the cl100k_base data is missing from Microsoft.ML.Tokenizers.Data.Cl100kBase");
        using var reader = new StreamReader(new DeflateStream(deflated, CompressionMode.Decompress));
        var result = new List<byte[]>(count);
        while (result.Count < count && reader.ReadLine() is { } line)
        {
            if (line.StartsWith("Capacity:", StringComparison.Ordinal)) continue; // the package's size hint
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0) continue;
            if (parts.Length > 1 && int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) != result.Count)
                throw new InvalidOperationException($"cl100k_base ranks are not in order at line {result.Count}: {line}");
            result.Add(Convert.FromBase64String(parts[0]));
        }
        if (result.Take(256).Any(b => b.Length != 1) || result.Take(256).Select(b => b[0]).Distinct().Count() != 256)
            throw new InvalidOperationException("the first 256 cl100k_base ranks are not the 256 single bytes");
        return result;
    }

    // GPT-2 files from tiktoken ranks: tokens in GPT-2's byte-to-unicode alphabet; the merge of each token is
    // the pair that byte-pair encoding with only lower ranks leaves it as.
    private static void WriteGpt2Vocabulary(string folder, IReadOnlyList<byte[]> ranks)
    {
        var alphabet = ByteAlphabet();
        string Text(byte[] bytes) => string.Concat(bytes.Select(b => alphabet[b]));
        var rankOf = ranks.Select((b, i) => (Text(b), i)).ToDictionary(p => p.Item1, p => p.i, StringComparer.Ordinal);
        var vocab = new JsonObject();
        foreach (var (text, id) in rankOf.OrderBy(p => p.Value)) vocab[text] = id;
        vocab["<|endoftext|>"] = ranks.Count;
        var merges = new StringBuilder("#version: 0.2\n");
        for (int id = 256; id < ranks.Count; id++)
        {
            var parts = ranks[id].Select(b => alphabet[b].ToString()).ToList();
            while (parts.Count > 2)
            {
                var best = -1;
                for (int i = 0; i + 1 < parts.Count; i++)
                    if (rankOf.TryGetValue(parts[i] + parts[i + 1], out var r) && r < id
                        && (best < 0 || r < rankOf[parts[best] + parts[best + 1]]))
                        best = i;
                if (best < 0) break;
                parts[best] += parts[best + 1];
                parts.RemoveAt(best + 1);
            }
            if (parts.Count == 2) merges.Append(parts[0]).Append(' ').Append(parts[1]).Append('\n');
        }
        WriteText(Path.Combine(folder, "vocab.json"), vocab.ToJsonString());
        WriteText(Path.Combine(folder, "merges.txt"), merges.ToString());
    }

    // GPT-2's reversible byte -> printable character map.
    private static char[] ByteAlphabet()
    {
        var map = new char[256];
        var printable = Enumerable.Range('!', '~' - '!' + 1)
            .Concat(Enumerable.Range('¡', '¬' - '¡' + 1))
            .Concat(Enumerable.Range('®', 'ÿ' - '®' + 1))
            .ToHashSet();
        var extra = 0;
        for (int b = 0; b < 256; b++) map[b] = printable.Contains(b) ? (char)b : (char)(256 + extra++);
        return map;
    }

    private static void WriteText(string path, string text)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, text, new UTF8Encoding(false));
        File.Move(temp, path, overwrite: true);
    }
}
