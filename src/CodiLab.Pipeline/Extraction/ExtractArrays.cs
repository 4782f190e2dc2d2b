using CodiLab.Analysis;
using CodiLab.Models.Codi;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Data;

namespace CodiLab.Pipeline.Extraction;

/// <summary>The model's dimensions an array's row shape depends on.</summary>
/// <param name="Layers">Transformer layers.</param>
/// <param name="Heads">Attention heads per layer.</param>
/// <param name="Latents">Continuous thoughts K.</param>
public readonly record struct ModelShape(int Layers, int Heads, int Latents);

/// <summary>
/// One per-problem array an extraction writes: its short name (shard files are <c>shard-NNNNNNN.&lt;name&gt;.npy</c>),
/// the output file, the stored dtype, the value a failed problem's row is filled with, the shape of one problem's
/// row, and how a trace becomes that row (float32, C order, <see cref="Cells"/> values).
/// </summary>
public sealed record ExtractArray(
    string Name,
    string FileName,
    NpyDType DType,
    float FailedFill,
    Func<ModelShape, int[]> RowShape,
    Func<TraceResult, ModelShape, float[]> FromTrace)
{
    /// <summary>Values per problem.</summary>
    public int Cells(ModelShape shape) => RowShape(shape).Aggregate(1, (a, b) => checked(a * b));
}

/// <summary>
/// The arrays the extract stage writes, one line each: add an entry here (and nothing else in the driver) to have
/// every extraction compute, shard, resume and write it.
/// </summary>
public static class ExtractArrays
{
    /// <summary>The Phase 1 arrays (Phase 4 writes the same ones over its own sample).</summary>
    public static readonly IReadOnlyList<ExtractArray> All =
    [
        // The seed's matrix, off-by-one included; a failed problem keeps its zero slot and is flagged (the seed's rule).
        new("seed", Phase1Files.SeedRaw, NpyDType.Float16, 0f,
            s => [s.Layers, s.Heads, Conventions.SeedSize, Conventions.SeedSize], (t, _) => TraceConventions.Seed(t)),
        // The labelled latent view; NaN marks both "not visible" and a failed problem.
        new("latent", Phase1Files.LatentRaw, NpyDType.Float32, float.NaN,
            s => [s.Layers, s.Heads, s.Latents + 1, s.Latents + 3], (t, s) => TraceConventions.Latent(t, s.Latents)),
    ];

    /// <summary>The output file names, in order.</summary>
    public static IReadOnlyList<string> Files => [.. All.Select(a => a.FileName)];
}
