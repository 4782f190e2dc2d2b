using static TorchSharp.torch;

namespace CodiLab.Models;

/// <summary>Compute dtype names as specs and the command line write them.</summary>
public static class DTypes
{
    /// <summary>float32 / fp32 / bfloat16 / bf16 to a scalar type; anything else is an error naming <paramref name="where"/>.</summary>
    public static ScalarType Parse(string name, string where) => name.ToLowerInvariant() switch
    {
        "float32" or "fp32" => ScalarType.Float32,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        _ => throw new ModelFormatException($"dtype '{name}' is not supported.", where, "use float32 or bfloat16."),
    };

    /// <summary>The spec name of a scalar type.</summary>
    public static string Name(ScalarType type) => type == ScalarType.BFloat16 ? "bfloat16" : "float32";
}
