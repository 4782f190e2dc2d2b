using CodiLab.Models.Interventions;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace CodiLab.Models.Architectures;

/// <summary>
/// LLaMA-3.x (docs/model-folder.md#architectures): RMSNorm, grouped-query attention (query head h reads KV head h / (H/KV)), RoPE
/// with the llama3 frequency rule and rotate-half, SwiGLU MLP, final norm, tied head, no biases.
/// Parameter names follow the HF checkpoint: model.layers.{i}.self_attn.q_proj.weight, ...
/// </summary>
public sealed class LlamaLm : CausalLm
{
    [ComponentName(Name = "model")]
    private readonly LlamaBody _body;

    // RoPE inverse frequencies [hd/2]: derived from the config, not a parameter (created after RegisterComponents).
    private readonly Tensor _inverseFrequencies;

    /// <summary>Creates an uninitialised model of the given shape.</summary>
    public LlamaLm(ModelConfig config) : base("llama", config)
    {
        _body = new LlamaBody(config);
        RegisterComponents();
        _inverseFrequencies = tensor(config.RopeInverseFrequencies().Select(f => (float)f).ToArray()).DetachFromDisposeScope();
    }

    /// <inheritdoc />
    public override Tensor EmbeddingTable => _body.Embed.Weight;

    /// <inheritdoc />
    public override IReadOnlyList<DecoderBlock> Blocks => [.. _body.Layers];

    /// <inheritdoc />
    public override LmOutput forward(LmInput input)
    {
        using var scope = NewDisposeScope();
        var x = input.Embeds;
        var positions = input.Positions ?? DefaultPositions(input);
        // cos/sin [b, 1, t, hd] in float32, then the model dtype (HF's LlamaRotaryEmbedding).
        var freqs = positions.to_type(ScalarType.Float32).unsqueeze(-1).mul(_inverseFrequencies.to(x.device).unsqueeze(0).unsqueeze(0));
        var angles = cat([freqs, freqs], -1); // [b, t, hd]
        var rotary = new RotaryAngles(angles.cos().to_type(x.dtype).unsqueeze(1), angles.sin().to_type(x.dtype).unsqueeze(1));
        return RunBlocks(_body.Layers, x, input, rotary, _body.Norm);
    }

    /// <summary>The RoPE inverse frequencies in use (for tests against the formula).</summary>
    public float[] InverseFrequencies => _inverseFrequencies.data<float>().ToArray();

    private sealed class LlamaBody : nn.Module
    {
        [ComponentName(Name = "embed_tokens")] public readonly Table Embed;
        [ComponentName(Name = "layers")] public readonly ModuleList<LlamaBlock> Layers;
        [ComponentName(Name = "norm")] public readonly RmsNorm Norm;

        public LlamaBody(ModelConfig c) : base("model")
        {
            Embed = new Table(c.CodiVocab, c.Hidden);
            Layers = nn.ModuleList([.. Enumerable.Range(0, c.Layers).Select(i => new LlamaBlock(c, i))]);
            Norm = new RmsNorm(c.Hidden, c.NormEps);
            RegisterComponents();
        }
    }
}

/// <summary>A LLaMA decoder layer (model.layers.{i}): input_layernorm, self_attn, post_attention_layernorm, mlp.</summary>
public sealed class LlamaBlock : DecoderBlock
{
    [ComponentName(Name = "input_layernorm")] private readonly RmsNorm _inputNorm;
    [ComponentName(Name = "self_attn")] private readonly LlamaAttention _attn;
    [ComponentName(Name = "post_attention_layernorm")] private readonly RmsNorm _postNorm;
    [ComponentName(Name = "mlp")] private readonly LlamaMlp _mlp;

    /// <summary>Creates the uninitialised block of layer <paramref name="index"/>.</summary>
    public LlamaBlock(ModelConfig c, int index) : base("layer", index)
    {
        _inputNorm = new RmsNorm(c.Hidden, c.NormEps);
        _attn = new LlamaAttention(c);
        _postNorm = new RmsNorm(c.Hidden, c.NormEps);
        _mlp = new LlamaMlp(c);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override nn.Module<AttentionInput, AttentionOutput> SelfAttention => _attn;

    /// <inheritdoc />
    public override Tensor OutputProjection => _attn.OutputWeight;

    /// <inheritdoc />
    public override BlockOutput forward(BlockInput input)
    {
        var attention = _attn.call(input.ToAttention(_inputNorm.call(input.Hidden), Index));
        var x = input.Hidden.add(attention.Hidden);
        return new BlockOutput(x.add(_mlp.call(_postNorm.call(x))), attention.Probabilities);
    }
}

/// <summary>RMSNorm: w · x / sqrt(mean(x²) + eps), computed in float32 and cast back before the weight (HF's LlamaRMSNorm).</summary>
internal sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight")] private readonly Parameter _weight;
    private readonly double _eps;

    public RmsNorm(int size, double eps) : base("norm")
    {
        _eps = eps;
        _weight = new Parameter(ones(size));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var f = x.to_type(ScalarType.Float32);
        var normed = f.mul(f.pow(2).mean([-1], keepdim: true).add(_eps).rsqrt());
        return _weight.mul(normed.to_type(x.dtype));
    }
}

/// <summary>Grouped-query attention with RoPE: query head h reads KV head h / (H/KV).</summary>
internal sealed class LlamaAttention : nn.Module<AttentionInput, AttentionOutput>
{
    [ComponentName(Name = "q_proj")] private readonly Dense _q;
    [ComponentName(Name = "k_proj")] private readonly Dense _k;
    [ComponentName(Name = "v_proj")] private readonly Dense _v;
    [ComponentName(Name = "o_proj")] private readonly Dense _o;
    private readonly int _heads;
    private readonly int _kvHeads;
    private readonly int _headDim;

    public LlamaAttention(ModelConfig c) : base("self_attn")
    {
        (_heads, _kvHeads, _headDim) = (c.Heads, c.KvHeads, c.HeadDim);
        _q = new Dense(c.Hidden, c.Heads * c.HeadDim, hasBias: false);
        _k = new Dense(c.Hidden, c.KvHeads * c.HeadDim, hasBias: false);
        _v = new Dense(c.Hidden, c.KvHeads * c.HeadDim, hasBias: false);
        _o = new Dense(c.Heads * c.HeadDim, c.Hidden, hasBias: false);
        RegisterComponents();
    }

    // o_proj's weight [d, H·hd]: head h's output map is columns [hd·h, hd·(h+1)).
    public Tensor OutputWeight => _o.Weight;

    public override AttentionOutput forward(AttentionInput input)
    {
        var x = input.Hidden;
        var rotary = input.Rotary
            ?? throw new ArgumentException("LLaMA attention needs the RoPE angles of the new positions", nameof(input));
        var (b, t) = (x.shape[0], x.shape[1]);
        var q = _q.call(x).view(b, t, _heads, _headDim).transpose(1, 2); // [b, H, t, hd]
        var k = _k.call(x).view(b, t, _kvHeads, _headDim).transpose(1, 2); // [b, KV, t, hd]
        var v = _v.call(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);
        q = q.mul(rotary.Cos).add(RotateHalf(q).mul(rotary.Sin));
        k = k.mul(rotary.Cos).add(RotateHalf(k).mul(rotary.Sin));
        var (keys, values) = input.Cache.Append(k, v); // [b, KV, T, hd]
        var edit = AttentionEdit.Find(input.Interventions);
        // KV-group ablation reads zeros for the group without changing the cache (its keys serve later passes).
        if (edit is not null) (keys, values) = edit.ApplyToKv(keys, values);
        // GQA: KV head g serves query heads g·n .. g·n+n−1.
        var group = _heads / _kvHeads;
        if (group > 1)
        {
            keys = keys.repeat_interleave(group, 1); // [b, H, T, hd]
            values = values.repeat_interleave(group, 1);
        }
        var (o, probs) = Attention.Compute(q, keys, values, input.Mask, softmaxInFloat32: true, input.Capture);
        // [b, H, t, hd] -> [b, t, H·hd]: heads side by side, the layout o_proj reads; head h is columns [hd·h, hd·(h+1)).
        var heads = o.transpose(1, 2).reshape(b, t, _heads * _headDim);
        if (edit is not null) heads = edit.ApplyToHeads(heads, input.Layer, _headDim);
        return new AttentionOutput(_o.call(heads), probs);
    }

    // rotate_half: [x1, x2] -> [-x2, x1] over the last dimension.
    private static Tensor RotateHalf(Tensor x)
    {
        var half = x.shape[^1] / 2;
        return cat([x[.., .., .., TensorIndex.Slice(half)].neg(), x[.., .., .., TensorIndex.Slice(0, half)]], -1);
    }
}

/// <summary>SwiGLU MLP: down(silu(gate(x)) · up(x)).</summary>
internal sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "gate_proj")] private readonly Dense _gate;
    [ComponentName(Name = "up_proj")] private readonly Dense _up;
    [ComponentName(Name = "down_proj")] private readonly Dense _down;

    public LlamaMlp(ModelConfig c) : base("mlp")
    {
        _gate = new Dense(c.Hidden, c.Intermediate, hasBias: false);
        _up = new Dense(c.Hidden, c.Intermediate, hasBias: false);
        _down = new Dense(c.Intermediate, c.Hidden, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => _down.call(nn.functional.silu(_gate.call(x)).mul(_up.call(x)));
}
