using System.Text.Json.Serialization;

namespace CodiLab.Analysis;

/// <summary>One head's score and rank, each with its 95% bootstrap interval over problems.</summary>
public sealed record HeadInterval(
    [property: JsonPropertyName("layer")] int Layer,
    [property: JsonPropertyName("head")] int Head,
    [property: JsonPropertyName("value")] Interval Value,
    [property: JsonPropertyName("rank")] Interval Rank);

/// <summary>
/// Phase 2's uncertainty and baselines: composite and rank intervals of the seed's critical heads, mean and rank
/// intervals of the latent top heads, and every per-head metric under uniform causal rows.
/// </summary>
public sealed record Phase2Evidence(
    [property: JsonPropertyName("bootstrap")] BootstrapSettings Bootstrap,
    [property: JsonPropertyName("seed_top_composite")] IReadOnlyList<HeadInterval> SeedTopComposite,
    [property: JsonPropertyName("seed_uniform")] IReadOnlyDictionary<string, double> SeedUniform,
    [property: JsonPropertyName("latent_top")] IReadOnlyDictionary<string, IReadOnlyList<HeadInterval>> LatentTop,
    [property: JsonPropertyName("latent_uniform")] IReadOnlyDictionary<string, double> LatentUniform)
{
    /// <summary>How many top heads carry intervals.</summary>
    public const int Top = 10;

    /// <summary>The latent metrics whose top heads the report ranks.</summary>
    public static readonly string[] LatentRanked = ["sequential", "receiver_kurtosis", "self"];

    /// <summary>Builds the evidence from the raw arrays and the per-head metrics already computed.</summary>
    public static Phase2Evidence Build(
        float[] seedRaw, ExtractMetadata info, IReadOnlyList<SeedHead> seed, IReadOnlyList<LatentHead> latent)
    {
        var ok = Enumerable.Range(0, info.Problems).Where(n => info.PromptTokens[n] > 0).ToArray();
        var (layers, heads) = (info.Layers, info.Heads);
        var cells = layers * heads * 36;
        // The seed's composite re-ranks every head of the resampled mean (its min–max norms depend on all heads).
        // Only the cells that are non-zero somewhere are resampled; the others are zero in every resample.
        var live = new bool[cells];
        foreach (var n in ok)
        {
            var problem = seedRaw.AsSpan().Slice(checked((int)((long)n * cells)), cells);
            for (int c = 0; c < cells; c++) live[c] |= problem[c] != 0;
        }
        int[] liveCells = [.. Enumerable.Range(0, cells).Where(c => live[c])];
        var composites = ok.Length == 0 ? [] : Resampling.Of(ok.Length, Analysis.Bootstrap.RankResamples).ColumnMeans(liveCells.Length,
                (i, row) =>
                {
                    var problem = seedRaw.AsSpan().Slice(checked((int)((long)ok[i] * cells)), cells);
                    for (int c = 0; c < liveCells.Length; c++) row[c] = problem[liveCells[c]];
                })
            .Select(means =>
            {
                var mean = new float[cells];
                for (int c = 0; c < liveCells.Length; c++) mean[liveCells[c]] = (float)means[c];
                return HeadMetrics.Seed(mean, layers, heads).Select(h => h.Composite).ToArray();
            }).ToArray();
        var point = seed.Select(h => h.Composite).ToArray();
        var seedTop = HeadMetrics.RankBy(seed, h => h.Composite).Take(Top).Select(h => h.Layer * heads + h.Head).ToArray();
        var seedIntervals = Intervals(point, seedTop, composites, heads);

        var latentTop = new Dictionary<string, IReadOnlyList<HeadInterval>>();
        foreach (var metric in LatentRanked.Where(m => latent.Count > 0 && latent[0].PerProblem.ContainsKey(m)))
        {
            var perHead = latent.Select(h => h.PerProblem[metric]).ToArray();
            var n = perHead[0].Length;
            var means = latent.Select(h => h.Metrics[metric].Mean).ToArray();
            var order = Enumerable.Range(0, latent.Count).OrderByDescending(i => means[i]).Take(Top).ToArray();
            var resampled = n == 0 ? [] : Resampling.Of(n, Analysis.Bootstrap.RankResamples).ColumnMeans(perHead.Length, (i, row) =>
            {
                for (int h = 0; h < perHead.Length; h++) row[h] = (float)perHead[h][i];
            });
            latentTop[metric] = Intervals(means, order, resampled, heads);
        }
        var prompts = ok.Select(n => info.PromptTokens[n]).ToArray();
        var uniformSeed = new float[36];
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++) uniformSeed[i * 6 + j] = (float)prompts.Average(p => SeedEvidenceBuilder.UniformCell(i, j, p));
        var u = HeadMetrics.Seed(uniformSeed, 1, 1)[0];
        var seedUniform = new Dictionary<string, double> { ["hub"] = u.Hub, ["skip"] = u.Skip, ["max"] = u.Max, ["mean"] = u.Mean };
        var uniformRows = LatentEvidenceBuilder.UniformRows(prompts, info.Latents);
        var uniformLatent = HeadMetrics.Latent(uniformRows, prompts.Length, 1, 1, info.Latents)[0];
        return new Phase2Evidence(Analysis.Bootstrap.Settings(ok.Length), seedIntervals, seedUniform, latentTop,
            uniformLatent.Metrics.ToDictionary(kv => kv.Key, kv => kv.Value.Mean, StringComparer.Ordinal));
    }

    private static List<HeadInterval> Intervals(double[] point, int[] order, IReadOnlyList<double[]> resampled, int heads) =>
        [.. HeadRanks.Of(point, order, resampled, _ => ("", ""), heads).Select(r => new HeadInterval(r.Layer, r.Head, r.Max, r.Rank))];
}
