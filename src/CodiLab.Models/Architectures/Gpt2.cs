using CodiLab.Models.Interventions;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace CodiLab.Models.Architectures;

/// <summary>
/// GPT-2 (docs/model-folder.md#architectures): learned positions added to every input (continuous thoughts too), pre-LN blocks,
/// gelu_new MLP, ln_f, tied head. Conv1D weights are stored in Linear layout (the loader transposes them).
/// Parameter names follow the HF checkpoint: transformer.h.{i}.attn.c_attn.weight, ...
/// </summary>
public sealed class Gpt2Lm : CausalLm
{
    [ComponentName(Name = "transformer")]
    private readonly Gpt2Body _body;

    /// <summary>Creates an uninitialised model of the given shape.</summary>
    public Gpt2Lm(ModelConfig config) : base("gpt2", config)
    {
        _body = new Gpt2Body(config);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor EmbeddingTable => _body.Wte.Weight;

    /// <inheritdoc />
    public override IReadOnlyList<DecoderBlock> Blocks => [.. _body.Blocks];

    /// <inheritdoc />
    public override LmOutput forward(LmInput input)
    {
        using var scope = NewDisposeScope();
        var positions = input.Positions ?? DefaultPositions(input);
        var x = input.Embeds.add(Lookup(_body.Wpe.Weight, positions)); // [b, t, d]
        return RunBlocks(_body.Blocks, x, input, rotary: null, _body.LnF);
    }

    private sealed class Gpt2Body : nn.Module
    {
        [ComponentName(Name = "wte")] public readonly Table Wte;
        [ComponentName(Name = "wpe")] public readonly Table Wpe;
        [ComponentName(Name = "h")] public readonly ModuleList<Gpt2Block> Blocks;
        [ComponentName(Name = "ln_f")] public readonly LayerNorm LnF;

        public Gpt2Body(ModelConfig c) : base("transformer")
        {
            Wte = new Table(c.CodiVocab, c.Hidden);
            Wpe = new Table(c.MaxPositions, c.Hidden);
            Blocks = nn.ModuleList([.. Enumerable.Range(0, c.Layers).Select(i => new Gpt2Block(c, i))]);
            LnF = nn.LayerNorm(c.Hidden, c.NormEps);
            RegisterComponents();
        }
    }
}

/// <summary>A GPT-2 block (transformer.h.{i}): ln_1, attn, ln_2, mlp.</summary>
public sealed class Gpt2Block : DecoderBlock
{
    [ComponentName(Name = "ln_1")] private readonly LayerNorm _ln1;
    [ComponentName(Name = "attn")] private readonly Gpt2Attention _attn;
    [ComponentName(Name = "ln_2")] private readonly LayerNorm _ln2;
    [ComponentName(Name = "mlp")] private readonly Gpt2Mlp _mlp;

    /// <summary>Creates the uninitialised block of layer <paramref name="index"/>.</summary>
    public Gpt2Block(ModelConfig c, int index) : base("block", index)
    {
        _ln1 = nn.LayerNorm(c.Hidden, c.NormEps);
        _attn = new Gpt2Attention(c);
        _ln2 = nn.LayerNorm(c.Hidden, c.NormEps);
        _mlp = new Gpt2Mlp(c);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override nn.Module<AttentionInput, AttentionOutput> SelfAttention => _attn;

    /// <inheritdoc />
    public override Tensor OutputProjection => _attn.OutputWeight;

    /// <inheritdoc />
    public override BlockOutput forward(BlockInput input)
    {
        var attention = _attn.call(input.ToAttention(_ln1.call(input.Hidden), Index));
        var x = input.Hidden.add(attention.Hidden);
        return new BlockOutput(x.add(_mlp.call(_ln2.call(x))), attention.Probabilities);
    }
}

/// <summary>GPT-2 self-attention: one c_attn for q, k, v (each [b, t, d]), c_proj on the concatenated heads.</summary>
internal sealed class Gpt2Attention : nn.Module<AttentionInput, AttentionOutput>
{
    [ComponentName(Name = "c_attn")] private readonly Dense _qkv;
    [ComponentName(Name = "c_proj")] private readonly Dense _out;
    private readonly int _heads;
    private readonly int _headDim;

    public Gpt2Attention(ModelConfig c) : base("attn")
    {
        _heads = c.Heads;
        _headDim = c.HeadDim;
        _qkv = new Dense(c.Hidden, 3 * c.Hidden);
        _out = new Dense(c.Hidden, c.Hidden);
        RegisterComponents();
    }

    // c_proj's weight in Linear layout [d, d] (the loader transposed the Conv1D [in, out]): head h's output map is
    // columns [hd·h, hd·(h+1)), i.e. the Conv1D's rows of that slice.
    public Tensor OutputWeight => _out.Weight;

    public override AttentionOutput forward(AttentionInput input)
    {
        var x = input.Hidden;
        var (b, t) = (x.shape[0], x.shape[1]);
        var qkv = _qkv.call(x).split(x.shape[2], 2); // 3 × [b, t, d]
        Tensor Heads(Tensor y) => y.view(b, t, _heads, _headDim).transpose(1, 2); // [b, h, t, hd]
        var (k, v) = input.Cache.Append(Heads(qkv[1]), Heads(qkv[2])); // [b, h, T, hd]
        var edit = AttentionEdit.Find(input.Interventions);
        if (edit is not null) (k, v) = edit.ApplyToKv(k, v); // GPT-2: KV head g is head g
        var (o, probs) = Attention.Compute(Heads(qkv[0]), k, v, input.Mask, softmaxInFloat32: false, input.Capture, divideByRoot: true);
        // [b, h, t, hd] -> [b, t, h·hd]: heads side by side, the layout c_proj reads; head h is columns [hd·h, hd·(h+1)).
        var heads = o.transpose(1, 2).reshape(b, t, _heads * _headDim);
        if (edit is not null) heads = edit.ApplyToHeads(heads, input.Layer, _headDim);
        return new AttentionOutput(_out.call(heads), probs);
    }
}

/// <summary>GPT-2 MLP: c_fc, gelu_new, c_proj.</summary>
internal sealed class Gpt2Mlp : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "c_fc")] private readonly Dense _fc;
    [ComponentName(Name = "c_proj")] private readonly Dense _proj;

    public Gpt2Mlp(ModelConfig c) : base("mlp")
    {
        _fc = new Dense(c.Hidden, c.Intermediate);
        _proj = new Dense(c.Intermediate, c.Hidden);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => _proj.call(GeluNew(_fc.call(x)));

    // gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as HF's NewGELUActivation.
    private static Tensor GeluNew(Tensor x) =>
        x.mul(0.5).mul(x.add(x.pow(3).mul(0.044715)).mul(Math.Sqrt(2.0 / Math.PI)).tanh().add(1.0));
}
