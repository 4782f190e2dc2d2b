using CodiLab.Models.Codi;

namespace CodiLab.Models.Interventions;

/// <summary>
/// Per-(layer, head) means of the attention output projection's input (the site <see cref="HeadAblation"/> writes)
/// over a reference set, at the positions of the passes in <see cref="Scope"/> (pads and finished rows left out).
/// </summary>
/// <param name="Means">[layer][head][hd].</param>
/// <param name="Positions">Positions averaged per layer (the same for every layer).</param>
/// <param name="Prompts">Reference prompts run.</param>
/// <param name="Scope">The passes whose positions were averaged.</param>
public sealed record HeadMeanTable(float[][][] Means, long Positions, int Prompts, Scope Scope)
{
    /// <summary>A mean-ablation of one head with this table's mean, over the passes in <paramref name="scope"/>.</summary>
    public HeadAblation Ablation(int layer, int head, Scope scope) =>
        new(layer, head, scope, Means[layer][head], $"mean over {Prompts} reference prompts ({Positions} positions, {Scope} passes)");
}

/// <summary>Computes <see cref="HeadMeanTable"/>s by running the CODI loop on reference prompts.</summary>
public static class HeadMeans
{
    /// <summary>
    /// Runs the plain CODI loop on <paramref name="prompts"/> (in batches; answer tokens only when the scope covers
    /// the answer) and averages each head's slice of the output projection's input over the positions in scope.
    /// </summary>
    public static HeadMeanTable Compute(
        CodiModel model, IReadOnlyList<CodiModel.Prompt> prompts, Scope scope, int batchSize = 8, int maxNewTokens = 256)
    {
        if (prompts.Count == 0)
            throw new CodiLabException("the reference set for head means is empty.", "reference set", "give at least one question.",
                ExitCodes.InvalidSpec);
        var c = model.Loaded.Config;
        var recorder = new HeadInputRecorder(scope, c.Layers, c.Heads * c.HeadDim);
        var decode = (scope & Scope.Answer) != 0 ? maxNewTokens : 0;
        var order = Enumerable.Range(0, prompts.Count).OrderBy(i => prompts[i].Ids.Count).ToArray();
        for (int start = 0; start < order.Length; start += Math.Max(1, batchSize))
            model.TraceBatch([.. order.Skip(start).Take(Math.Max(1, batchSize)).Select(i => prompts[i] with { Gold = null })], decode, [recorder]);
        var means = Enumerable.Range(0, c.Layers).Select(l =>
        {
            var mean = recorder.Mean(l);
            return Enumerable.Range(0, c.Heads).Select(h => mean.AsSpan(h * c.HeadDim, c.HeadDim).ToArray()).ToArray();
        }).ToArray();
        return new HeadMeanTable(means, recorder.Count(0), prompts.Count, scope);
    }
}
