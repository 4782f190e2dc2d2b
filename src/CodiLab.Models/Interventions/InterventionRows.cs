using CodiLab.Models.Architectures;

namespace CodiLab.Models.Interventions;

/// <summary>Checks interventions against a model and a batch, and maps per-row values onto sub-batches.</summary>
public static class InterventionRows
{
    /// <summary>The interventions of a sub-batch made of <paramref name="rows"/> (per-row replacement values follow their rows).</summary>
    public static IReadOnlyList<Intervention> ForRows(IReadOnlyList<Intervention> interventions, IReadOnlyList<int> rows) =>
        [.. interventions.Select(i => i switch
        {
            LatentReplacement l => l with { With = l.With.ForRows(rows) },
            ResidualPatch p => p with { With = p.With.ForRows(rows) },
            _ => i,
        })];

    /// <summary>
    /// Refuses, as one paragraph with exit code 2, an intervention that names a layer, head, KV group or label the
    /// model or a prompt of the batch does not have, a replacement of the wrong width, or an edge with nothing to
    /// block (its key never before its query).
    /// </summary>
    public static void Validate(IReadOnlyList<Intervention> interventions, ModelConfig config, PositionLayout layout)
    {
        foreach (var intervention in interventions)
        {
            var problem = Problem(intervention, config, layout);
            if (problem is not null)
                throw new CodiLabException($"intervention {intervention.GetType().Name}: {problem}.", "interventions",
                    $"use layers 0..{config.Layers - 1}, heads 0..{config.Heads - 1}, KV groups 0..{config.KvHeads - 1}, "
                    + $"thoughts z1..z{layout.NumLatent} and vectors of width {config.Hidden} (heads: {config.HeadDim}).",
                    ExitCodes.InvalidSpec);
        }
    }

    private static string? Problem(Intervention intervention, ModelConfig c, PositionLayout layout) => intervention switch
    {
        HeadAblation h => Layer(h.Layer, c) ?? Range("head", h.Head, c.Heads)
            ?? (h.Mean is { } m && m.Length != c.HeadDim ? $"the mean has {m.Length} values, the head {c.HeadDim}" : null),
        KvGroupAblation g => Layer(g.Layer, c) ?? Range("KV group", g.Group, c.KvHeads),
        EdgeBlock e => EdgeProblem(e, c, layout),
        LatentReplacement l => (l.K < 1 || l.K > layout.NumLatent ? $"thought z{l.K} does not exist (z1..z{layout.NumLatent})" : null)
            ?? Width(l.With, c.Hidden),
        ResidualPatch p => Layer(p.Layer, c) ?? Label(p.At, layout) ?? Width(p.With, c.Hidden),
        ResidualCapture r => Layer(r.Layer, c) ?? Label(r.At, layout),
        _ => null,
    };

    private static string? EdgeProblem(EdgeBlock e, ModelConfig c, PositionLayout layout)
    {
        if (e.Edges.Count == 0) return "no edges";
        if (e.Layers?.Select(l => Layer(l, c)).FirstOrDefault(p => p is not null) is { } layer) return layer;
        if (e.Heads?.Select(h => Range("head", h, c.Heads)).FirstOrDefault(p => p is not null) is { } head) return head;
        foreach (var edge in e.Edges)
        {
            if ((Label(edge.Query, layout) ?? Label(edge.Key, layout)) is { } label) return label;
            // A key at or after its query has nothing to block: the causal mask hides later keys, the query keeps itself.
            for (int row = 0; row < layout.Rows; row++)
            {
                var keys = layout.Slots(edge.Key, row).ToList();
                if (keys.Count > 0 && !layout.Slots(edge.Query, row).Any(q => keys.Min() < q))
                    return $"edge {edge}: the key never comes before the query, so there is nothing to block";
            }
        }
        return null;
    }

    private static string? Label(Position position, PositionLayout layout)
    {
        try
        {
            for (int row = 0; row < layout.Rows; row++) _ = layout.Slots(position, row).ToList();
            return position.Kind == PositionKind.Answer && position.Index < 1 ? "answer positions start at A1" : null;
        }
        catch (ArgumentOutOfRangeException e)
        {
            return e.Message.Split(" (Parameter", 2)[0];
        }
    }

    private static string? Layer(int layer, ModelConfig c) => Range("layer", layer, c.Layers);

    private static string? Range(string what, int value, int count) =>
        value < 0 || value >= count ? $"{what} {value} does not exist (there are {count}, numbered from 0)" : null;

    private static string? Width(Replacement replacement, int width) =>
        replacement.Width is { } w && w != width ? $"the replacement has {w} values, the model width is {width}" : null;
}
