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
                r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32()
                : fallback
                    ?? throw new ModelFormatException($"config.json has no '{name}'.", path, "use the base model's own config.json.");
            switch (type)
            {
                case "gpt2":
                {
                    var hidden = Int("n_embd");
                    var heads = Int("n_head");
                    var inner = r.TryGetProperty("n_inner", out var ni) && ni.ValueKind == JsonValueKind.Number
                        ? ni.GetInt32()
                        : 4 * hidden;
                    return new ModelConfig("gpt2", Int("vocab_size"), hidden, Int("n_layer"), heads, heads, hidden / heads, inner,
                        Int("n_positions", Int("n_ctx", 1024)), Num(r, "layer_norm_epsilon", 1e-5), 0, null);
                }
                case "llama":
                {
                    var hidden = Int("hidden_size");
                    var heads = Int("num_attention_heads");
                    // transformers 5 moved rope_theta / rope_scaling into rope_parameters.
                    var rope = r.TryGetProperty("rope_parameters", out var rp) && rp.ValueKind == JsonValueKind.Object ? rp
                        : r.TryGetProperty("rope_scaling", out var rs) && rs.ValueKind == JsonValueKind.Object ? rs : (JsonElement?)null;
                    var theta = Num(r, "rope_theta", rope is { } rt ? Num(rt, "rope_theta", 10000) : 10000);
                    var scaling = rope is { } s ? ReadScaling(s, path) : null;
                    return new ModelConfig("llama", Int("vocab_size"), hidden, Int("num_hidden_layers"), heads,
                        Int("num_key_value_heads", heads), Int("head_dim", hidden / heads), Int("intermediate_size"),
                        Int("max_position_embeddings", 131072), Num(r, "rms_norm_eps", 1e-5), theta, scaling);
                }
                default:
                    throw new ModelFormatException($"model_type '{type}' is not supported.", path,
                        "CodiLab runs CODI models on GPT-2 ('gpt2') and LLaMA-3.x ('llama') bases.");
            }
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(
                $"config.json is not valid JSON ({e.Message}).", path, "restore the base model's config.json.", e);
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
