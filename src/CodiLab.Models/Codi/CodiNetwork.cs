using CodiLab.Models.Architectures;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace CodiLab.Models.Codi;

/// <summary>
/// CODI's projection from the last post-norm hidden state to the next continuous thought (docs/model-folder.md#the-projection-prj):
/// Dropout(0) · Linear · GELU (exact, erf) · Linear · LayerNorm. Names follow the checkpoint: prj.1, prj.3, prj.ln.
/// </summary>
public sealed class Projection : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "1")] private readonly Dense _first;
    [ComponentName(Name = "3")] private readonly Dense _second;
    [ComponentName(Name = "ln")] private readonly LayerNorm _norm;

    /// <summary>Creates an uninitialised projection of width <paramref name="dim"/>.</summary>
    public Projection(int dim) : base("prj")
    {
        _first = new Dense(dim, dim);
        _second = new Dense(dim, dim);
        _norm = nn.LayerNorm(dim, 1e-5);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor hidden) => _norm.call(_second.call(nn.functional.gelu(_first.call(hidden))));
}

/// <summary>The CODI module: the base language model (LoRA merged) and <see cref="Projection"/>.</summary>
public sealed class CodiNetwork : nn.Module
{
    [ComponentName(Name = "lm")] private readonly CausalLm _lm;
    [ComponentName(Name = "prj")] private readonly Projection _prj;

    /// <summary>Creates an uninitialised network for a base-model config.</summary>
    public CodiNetwork(ModelConfig config) : base("codi")
    {
        _lm = config.Arch == "gpt2" ? new Gpt2Lm(config) : new LlamaLm(config);
        _prj = new Projection(config.Hidden);
        RegisterComponents();
    }

    /// <summary>The language model.</summary>
    public CausalLm Lm => _lm;

    /// <summary>The latent projection.</summary>
    public Projection Prj => _prj;
}
