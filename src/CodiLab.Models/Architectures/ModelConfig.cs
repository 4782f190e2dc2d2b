using System.Text.Json;

namespace CodiLab.Models.Architectures;

/// <summary>llama3 RoPE frequency scaling (docs/model-folder.md#architectures).</summary>
public sealed record RopeScaling(double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositions);

/// <summary>The base model's shape, read from <c>config.json</c> (classic layout, or <c>rope_parameters</c>).</summary>
public sealed record ModelConfig(
    string Arch,
    int VocabSize,
    int Hidden,
    int Layers,
    int Heads,
    int KvHeads,
    int HeadDim,
    int Intermediate,
    int MaxPositions,
    double NormEps,
    double RopeTheta,
    RopeScaling? Rope)
{
    /// <summary>Rows of the CODI embedding table: the base vocabulary plus pad, bot and eot.</summary>
    public int CodiVocab => VocabSize + 3;

    /// <summary>Reads <c>config.json</c> from a model folder.</summary>
    public static ModelConfig Read(string folder)
    {
        var path = Path.Combine(folder, "config.json");
        if (!File.Exists(path))
            throw new ModelFormatException("config.json is missing.", folder,
                "copy the base model's config.json (GPT-2 or Llama-3.2-1B-Instruct) into the model folder.");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var r = doc.RootElement;
            var type = r.TryGetProperty("model_type", out var mt) ? mt.GetString() : null;
            int Int(string name, int? fallback = null) =>
                r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number
                    ? v.TryGetInt32(out var n) ? n : throw new ModelFormatException(
                        $"config.json's '{name}' is {v.GetRawText()}, not a whole number in range.", path,
                        "use the base model's own config.json.")
                : r.TryGetProperty(name, out var other) && other.ValueKind != JsonValueKind.Null
                    ? throw new ModelFormatException($"config.json's '{name}' is {other.GetRawText()}, not a number.", path,
                        "use the base model's own config.json.")
                : fallback
                    ?? throw new ModelFormatException($"config.json has no '{name}'.", path, "use the base model's own config.json.");
            return Parse(type, r, Int, path).Checked(path, type == "gpt2" ? "n_head" : "num_attention_heads");
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(
                $"config.json is not valid JSON ({e.Message}).", path, "restore the base model's config.json.", e);
        }
        catch (InvalidOperationException e)
        {
            // A field of the wrong JSON kind (a number where a name belongs, or the reverse).
            throw new ModelFormatException($"config.json holds a value of the wrong kind ({e.Message}).", path,
                "restore the base model's config.json.", e);
        }
    }

    // The shape must make sense before anything divides by it or reshapes with it.
    private ModelConfig Checked(string path, string headsName)
    {
        const string Fix = "use the base model's own config.json (CodiLab does not resize models).";
        var sizes = new (string Name, int Value)[]
        {
            ("vocab_size", VocabSize), ("hidden size", Hidden), ("layers", Layers), (headsName, Heads), ("key/value heads", KvHeads),
            ("intermediate size", Intermediate), ("positions", MaxPositions),
        };
        foreach (var (name, value) in sizes.Where(x => x.Value <= 0))
            throw new ModelFormatException($"config.json's {name} is {value}; it must be at least 1.", path, Fix);
        // A head dimension derived from a hidden size the heads do not divide would silently drop columns.
        if (Hidden % Heads != 0 && (Arch == "gpt2" || HeadDim == Hidden / Heads))
        {
            throw new ModelFormatException(
                $"the hidden size {Hidden} is not a multiple of the head count {Heads} ({headsName}).", path, Fix);
        }
        if (HeadDim <= 0 || (Arch == "llama" && HeadDim % 2 != 0))
            throw new ModelFormatException($"config.json gives a head dimension of {HeadDim} ({headsName} {Heads}, hidden size "
                + $"{Hidden}); it must be a positive even number (hidden size divided by heads, or head_dim).", path, Fix);
        if (Heads % KvHeads != 0)
            throw new ModelFormatException(
                $"the head count {Heads} is not a multiple of the key/value head count {KvHeads} (num_key_value_heads).", path, Fix);
        return this;
    }

    private static ModelConfig Parse(string? type, JsonElement r, Func<string, int?, int> Int, string path)
    {
        switch (type)
        {
            case "gpt2":
            {
                var hidden = Int("n_embd", null);
                var heads = Int("n_head", null);
                var inner = Int("n_inner", 4 * hidden);
                return new ModelConfig("gpt2", Int("vocab_size", null), hidden, Int("n_layer", null), heads, heads,
                    heads > 0 ? hidden / heads : 0, inner,
                    Int("n_positions", Int("n_ctx", 1024)), Num(r, "layer_norm_epsilon", 1e-5), 0, null);
            }
            case "llama":
            {
                var hidden = Int("hidden_size", null);
                var heads = Int("num_attention_heads", null);
                // transformers 5 moved rope_theta / rope_scaling into rope_parameters.
                var rope = r.TryGetProperty("rope_parameters", out var rp) && rp.ValueKind == JsonValueKind.Object ? rp
                    : r.TryGetProperty("rope_scaling", out var rs) && rs.ValueKind == JsonValueKind.Object ? rs : (JsonElement?)null;
                var theta = Num(r, "rope_theta", rope is { } rt ? Num(rt, "rope_theta", 10000) : 10000);
                var scaling = rope is { } s ? ReadScaling(s, path) : null;
                return new ModelConfig("llama", Int("vocab_size", null), hidden, Int("num_hidden_layers", null), heads,
                    Int("num_key_value_heads", heads), Int("head_dim", heads > 0 ? hidden / heads : 0),
                    Int("intermediate_size", null),
                    Int("max_position_embeddings", 131072), Num(r, "rms_norm_eps", 1e-5), theta, scaling);
            }
            default:
                throw new ModelFormatException($"model_type '{type}' is not supported.", path,
                    "CodiLab runs CODI models on GPT-2 ('gpt2') and LLaMA-3.x ('llama') bases.");
        }
    }

    private static double Num(JsonElement e, string name, double fallback) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : fallback;

    // The rope_scaling (or rope_parameters) object: llama3 scaling, none for the default type, else an error.
    private static RopeScaling? ReadScaling(JsonElement s, string path)
    {
        var kind = s.TryGetProperty("rope_type", out var k) ? k.GetString()
            : s.TryGetProperty("type", out var k2) ? k2.GetString()
            : "default";
        if (kind == "llama3")
            return new RopeScaling(Num(s, "factor", 8), Num(s, "low_freq_factor", 1), Num(s, "high_freq_factor", 4),
                (int)Num(s, "original_max_position_embeddings", 8192));
        if (kind is not ("default" or null))
            throw new ModelFormatException(
                $"rope type '{kind}' is not supported (llama3 and default are).", path, "use a Llama-3.x config.json.");
        return null;
    }

    /// <summary>
    /// The RoPE inverse frequencies, with llama3 scaling when configured (HF's formula, in float64 here, rounded to float32 by the caller).
    /// </summary>
    public double[] RopeInverseFrequencies()
    {
        var n = HeadDim / 2;
        var result = new double[n];
        for (int i = 0; i < n; i++)
        {
            // HF computes theta ** (2i/d) in float32; mirror that so the frequencies round the same way.
            var f = 1.0 / (float)Math.Pow(RopeTheta, (float)(2 * i) / HeadDim);
            f = (float)f;
            if (Rope is { } s)
            {
                var lowWavelen = s.OriginalMaxPositions / s.LowFreqFactor;
                var highWavelen = s.OriginalMaxPositions / s.HighFreqFactor;
                var wavelen = 2 * Math.PI / f;
                if (wavelen > lowWavelen) f /= s.Factor;
                else if (wavelen >= highWavelen)
                {
                    var smooth = (s.OriginalMaxPositions / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                    f = (1 - smooth) * f / s.Factor + smooth * f;
                }
            }
            result[i] = f;
        }
        return result;
    }
}
