using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace CodiLab.Models.Architectures;

/// <summary>
/// GPT-2 (CODI.md §3): learned positions added to every input (continuous thoughts too), pre-LN blocks,
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
    public override LmOutput forward(LmInput input)
    {
        using var scope = NewDisposeScope();
        var positions = input.Positions ?? DefaultPositions(input);
        var x = input.Embeds.add(Lookup(_body.Wpe.Weight, positions)); // [b, t, d]
        var mask = input.Mask ?? Attention.Causal(input.Cache.Length, x.shape[1], x.dtype, x.device);
        var captured = input.Capture == AttentionCapture.None ? null : new List<Tensor>();
        for (int i = 0; i < _body.Blocks.Count; i++)
        {
            // One scope per layer: its intermediates (scores, MLP activations) are freed before the next layer.
            using var layerScope = NewDisposeScope();
            var (h, probs) = ((Gpt2Block)_body.Blocks[i]).Forward(x, input.Cache, i, mask, input.Capture);
            x = h.MoveToOuterDisposeScope();
            if (probs is not null) captured!.Add(probs.MoveToOuterDisposeScope().MoveToOuterDisposeScope());
        }
        var hidden = _body.LnF.call(x).MoveToOuterDisposeScope();
        return new LmOutput(hidden, captured);
    }

    private sealed class Gpt2Body : nn.Module
    {
        [ComponentName(Name = "wte")] public readonly Table Wte;
        [ComponentName(Name = "wpe")] public readonly Table Wpe;
        [ComponentName(Name = "h")] public readonly ModuleList<nn.Module> Blocks;
        [ComponentName(Name = "ln_f")] public readonly LayerNorm LnF;

        public Gpt2Body(ModelConfig c) : base("transformer")
        {
            Wte = new Table(c.CodiVocab, c.Hidden);
            Wpe = new Table(c.MaxPositions, c.Hidden);
            Blocks = nn.ModuleList<nn.Module>(Enumerable.Range(0, c.Layers).Select(_ => (nn.Module)new Gpt2Block(c)).ToArray());
            LnF = nn.LayerNorm(c.Hidden, c.NormEps);
            RegisterComponents();
        }
    }

    private sealed class Gpt2Block : nn.Module
    {
        [ComponentName(Name = "ln_1")] private readonly LayerNorm _ln1;
        [ComponentName(Name = "attn")] private readonly Gpt2Attention _attn;
        [ComponentName(Name = "ln_2")] private readonly LayerNorm _ln2;
        [ComponentName(Name = "mlp")] private readonly Gpt2Mlp _mlp;

        public Gpt2Block(ModelConfig c) : base("block")
        {
            _ln1 = nn.LayerNorm(c.Hidden, c.NormEps);
            _attn = new Gpt2Attention(c);
            _ln2 = nn.LayerNorm(c.Hidden, c.NormEps);
            _mlp = new Gpt2Mlp(c);
            RegisterComponents();
        }

        public (Tensor Hidden, Tensor? Probabilities) Forward(Tensor x, KvCache cache, int layer, Tensor? mask, AttentionCapture capture)
        {
            var (a, probs) = _attn.Forward(_ln1.call(x), cache, layer, mask, capture);
            x = x.add(a);
            return (x.add(_mlp.Forward(_ln2.call(x))), probs);
        }
    }

    private sealed class Gpt2Attention : nn.Module
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

        public (Tensor Output, Tensor? Probabilities) Forward(Tensor x, KvCache cache, int layer, Tensor? mask, AttentionCapture capture)
        {
            var (b, t) = (x.shape[0], x.shape[1]);
            var qkv = _qkv.call(x).split(x.shape[2], 2); // 3 × [b, t, d]
            Tensor Heads(Tensor y) => y.view(b, t, _heads, _headDim).transpose(1, 2); // [b, h, t, hd]
            var (k, v) = cache.Append(layer, Heads(qkv[1]), Heads(qkv[2]));
            var (o, probs) = Attention.Compute(Heads(qkv[0]), k, v, mask, softmaxInFloat32: false, capture, divideByRoot: true);
            return (_out.call(o.transpose(1, 2).reshape(b, t, _heads * _headDim)), probs);
        }
    }

    private sealed class Gpt2Mlp : nn.Module
    {
        [ComponentName(Name = "c_fc")] private readonly Dense _fc;
        [ComponentName(Name = "c_proj")] private readonly Dense _proj;

        public Gpt2Mlp(ModelConfig c) : base("mlp")
        {
            _fc = new Dense(c.Hidden, c.Intermediate);
            _proj = new Dense(c.Intermediate, c.Hidden);
            RegisterComponents();
        }

        public Tensor Forward(Tensor x) => _proj.call(GeluNew(_fc.call(x)));

        // gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as HF's NewGELUActivation.
        private static Tensor GeluNew(Tensor x) =>
            x.mul(0.5).mul(x.add(x.pow(3).mul(0.044715)).mul(Math.Sqrt(2.0 / Math.PI)).tanh().add(1.0));
    }
}
