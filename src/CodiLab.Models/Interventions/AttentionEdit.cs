using CodiLab.Models.Architectures;
using static TorchSharp.torch;

namespace CodiLab.Models.Interventions;

/// <summary>
/// What one layer's attention must do in one pass, resolved from the pass's interventions by <see cref="StepPlan"/>:
/// head slices of the output projection's input to zero or replace, KV groups to zero, and an optional recorder of
/// that input. It travels in <see cref="AttentionInput.Interventions"/>; both attention modules apply it the same way.
/// </summary>
internal sealed record AttentionEdit(
    IReadOnlyList<HeadAblation> Heads, IReadOnlyList<KvGroupAblation> Groups, HeadInputRecorder? Recorder, Tensor? RecordWeights)
    : Intervention
{
    public static AttentionEdit? Find(IReadOnlyList<Intervention> interventions) =>
        interventions.OfType<AttentionEdit>().FirstOrDefault();

    /// <summary>Zeroes the ablated KV groups of keys or values [b, KV, T, hd] (a masked copy: the cache keeps its tensors).</summary>
    public (Tensor Keys, Tensor Values) ApplyToKv(Tensor keys, Tensor values)
    {
        if (Groups.Count == 0) return (keys, values);
        Tensor Zeroed(Tensor x, KvPart part)
        {
            var groups = Groups.Where(g => g.Part == part).Select(g => g.Group).Distinct().ToArray();
            if (groups.Length == 0) return x;
            var keep = Enumerable.Repeat(1f, (int)x.shape[1]).ToArray();
            foreach (var g in groups) keep[g] = 0;
            return x.mul(tensor(keep, dtype: x.dtype, device: x.device).view(1, -1, 1, 1));
        }
        return (Zeroed(keys, KvPart.Key), Zeroed(values, KvPart.Value));
    }

    /// <summary>
    /// Records, then ablates, the output projection's input [b, t, H·hd] (heads side by side): kept slices are
    /// multiplied by 1, ablated ones by 0 and then given their mean (or nothing).
    /// </summary>
    public Tensor ApplyToHeads(Tensor concatenated, int layer, int headDim)
    {
        if (Recorder is not null && RecordWeights is not null) Recorder.Add(layer, concatenated, RecordWeights);
        if (Heads.Count == 0) return concatenated;
        var width = (int)concatenated.shape[^1];
        var keep = Enumerable.Repeat(1f, width).ToArray();
        var fill = new float[width];
        foreach (var ablation in Heads)
        {
            var start = ablation.Head * headDim;
            for (int j = 0; j < headDim; j++)
            {
                keep[start + j] = 0;
                fill[start + j] = ablation.Mean?[j] ?? 0;
            }
        }
        var (dtype, device) = (concatenated.dtype, concatenated.device);
        var kept = concatenated.mul(tensor(keep, dtype: dtype, device: device));
        return Heads.Any(h => h.Mean is not null) ? kept.add(tensor(fill, dtype: dtype, device: device)) : kept;
    }
}

/// <summary>
/// Sums of the output projection's input per (layer, head) over the positions of the passes it is asked to watch
/// (pads and finished rows left out), in float64 on the CPU: the material of <see cref="HeadMeans"/>.
/// A probe: it changes nothing.
/// </summary>
internal sealed record HeadInputRecorder(Scope Scope, int Layers, int Width) : Intervention
{
    private readonly double[][] _sums = [.. Enumerable.Range(0, Layers).Select(_ => new double[Width])];
    private readonly long[] _counts = new long[Layers];

    /// <summary>Adds the weighted positions (weights [b, t], 1 = counted) of one layer's input [b, t, H·hd].</summary>
    public void Add(int layer, Tensor concatenated, Tensor weights)
    {
        using var scope = NewDisposeScope();
        var w = weights.to_type(ScalarType.Float64);
        var sum = concatenated.to_type(ScalarType.Float64).mul(w.unsqueeze(-1)).sum([0, 1]).cpu().data<double>().ToArray();
        for (int j = 0; j < Width; j++) _sums[layer][j] += sum[j];
        _counts[layer] += (long)Math.Round(w.sum().cpu().item<double>());
    }

    /// <summary>Positions counted per layer.</summary>
    public long Count(int layer) => _counts[layer];

    /// <summary>The mean of layer <paramref name="layer"/>'s input [H·hd] (zeros when nothing was counted).</summary>
    public float[] Mean(int layer) =>
        [.. _sums[layer].Select(s => _counts[layer] == 0 ? 0f : (float)(s / _counts[layer]))];
}
