namespace CodiLab.Models.Codi;

/// <summary>Compares two traces of one question (e.g. CodiLab against the reference oracle).</summary>
public static class TraceComparison
{
    /// <summary>
    /// The largest absolute difference over every attention value of every query, layer, head and key;
    /// throws when the two traces do not have the same queries or row shapes.
    /// </summary>
    public static double WorstAttentionDifference(TraceResult expected, TraceResult actual)
    {
        if (!expected.Attention.Keys.Order().SequenceEqual(actual.Attention.Keys.Order()))
            throw new InvalidOperationException(
                $"queries differ: [{string.Join(", ", expected.Attention.Keys)}] vs [{string.Join(", ", actual.Attention.Keys)}]");
        var worst = 0.0;
        foreach (var (query, layers) in expected.Attention)
        {
            var other = actual.Attention[query];
            if (layers.Length != other.Length) throw new InvalidOperationException($"{query}: {layers.Length} layers vs {other.Length}");
            for (int l = 0; l < layers.Length; l++)
            {
                if (layers[l].Length != other[l].Length)
                    throw new InvalidOperationException($"{query} layer {l}: {layers[l].Length} heads vs {other[l].Length}");
                for (int h = 0; h < layers[l].Length; h++)
                {
                    var (a, b) = (layers[l][h], other[l][h]);
                    if (a.Length != b.Length)
                        throw new InvalidOperationException($"{query} layer {l} head {h}: {a.Length} keys vs {b.Length}");
                    for (int k = 0; k < a.Length; k++) worst = Math.Max(worst, Math.Abs((double)a[k] - b[k]));
                }
            }
        }
        return worst;
    }
}
