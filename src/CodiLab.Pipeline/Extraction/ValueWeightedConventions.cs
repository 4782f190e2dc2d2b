using CodiLab.Analysis;
using CodiLab.Models.Codi;

namespace CodiLab.Pipeline.Extraction;

/// <summary>
/// The latent view of value-weighted attention (docs/experiment.md#sink-or-hub): every captured row (BOT, z1..zK)
/// weighted key by key by ‖W_O^h v_key‖ (<see cref="TraceResult.ValueNorms"/>) and renormalised over all its keys,
/// then cut into the latent view's columns exactly as <see cref="TraceConventions.Latent"/> cuts raw attention.
/// </summary>
public static class ValueWeightedConventions
{
    /// <summary>The value-weighted latent view of one trace, [L, H, K+1, K+3] flattened; NaN where the query cannot see the key.</summary>
    public static float[] Latent(TraceResult trace, int k)
    {
        var norms = trace.ValueNorms
            ?? throw new InvalidOperationException("the trace carries no value norms: set CodiModel.CaptureValueNorms before tracing");
        var weighted = trace.Attention.ToDictionary(
            q => q.Key,
            q => q.Value.Select((heads, l) => heads.Select((row, h) => SinkAnalysis.Weight(row, norms[l][h])).ToArray()).ToArray(),
            StringComparer.Ordinal);
        return TraceConventions.Latent(trace with { Attention = weighted }, k);
    }
}
