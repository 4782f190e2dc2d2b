using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace CodiLab.Models.Architectures;

/// <summary>
/// A linear layer y = x·Wᵀ + b whose parameters start uninitialised (torch.empty): every weight is loaded from a
/// checkpoint, and nn.Linear's random initialisation took 10 s of a LLaMA-1B load. Names: weight [out, in], bias [out].
/// </summary>
public sealed class Dense : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight")] private readonly Parameter _weight;
    [ComponentName(Name = "bias")] private readonly Parameter? _bias;

    /// <summary>Creates the layer.</summary>
    public Dense(long inputs, long outputs, bool hasBias = true) : base("dense")
    {
        _weight = new Parameter(empty(outputs, inputs));
        if (hasBias) _bias = new Parameter(empty(outputs));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => nn.functional.linear(x, _weight, _bias);

    /// <summary>The weight [out, in] (read by analyses that need a projection's columns, e.g. value norms).</summary>
    internal Tensor Weight => _weight;
}

/// <summary>An uninitialised lookup table [rows, width] (token or position embeddings), read through <see cref="Weight"/>.</summary>
public sealed class Table : nn.Module
{
    [ComponentName(Name = "weight")] private readonly Parameter _weight;

    /// <summary>Creates the table.</summary>
    public Table(long rows, long width) : base("table")
    {
        _weight = new Parameter(empty(rows, width));
        RegisterComponents();
    }

    /// <summary>The table.</summary>
    public Tensor Weight => _weight;
}
