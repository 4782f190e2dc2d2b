namespace CodiLab.Analysis;

/// <summary>What Phase 4's figures draw: head-mean patterns and per-head metric means, sample and full set.</summary>
public static partial class Phase4Analysis
{
    /// <summary>Head-mean patterns of both conventions on the sample and on the full set (NaN: not visible).</summary>
    public static Phase4Patterns Patterns(Phase4Shape shape, Phase4Accumulator acc, IReadOnlyList<int> members)
    {
        const int seedCells = Conventions.SeedSize * Conventions.SeedSize;
        var (rows, cols) = shape.Latent;
        int[] all = [.. Enumerable.Range(0, members.Count)];
        var seedSample = MeanOf([.. members.Select(m => acc.MemberSeed[m])], all);
        var latentSample = MeanOf([.. members.Select(m => acc.MemberLatent[m])], all);
        return new Phase4Patterns(HeadMean(seedSample, shape.HeadCount, seedCells), HeadMean(acc.Seed().Mean, shape.HeadCount, seedCells),
            HeadMean(latentSample, shape.HeadCount, rows * cols), HeadMean(acc.Latent().Mean, shape.HeadCount, rows * cols));
    }

    /// <summary>Each head's ranking metrics (mean over problems) on the sample and on the full set.</summary>
    public static List<Phase4HeadPoint> HeadPoints(Phase4Shape shape, Phase4Accumulator acc, IReadOnlyList<int> members)
    {
        var heads = shape.HeadCount;
        int[] all = [.. Enumerable.Range(0, acc.Headline[0].Length)];
        var result = new List<Phase4HeadPoint>();
        for (int m = 0; m < Phase4Metrics.HeadMetrics.Count; m++)
        {
            var (sample, full) = (MeanPerHead(acc.HeadValues[m], heads, [.. members]), MeanPerHead(acc.HeadValues[m], heads, all));
            for (int h = 0; h < heads; h++)
                result.Add(new Phase4HeadPoint(Phase4Metrics.HeadMetrics[m], h / shape.Heads, h % shape.Heads, sample[h], full[h]));
        }
        return result;
    }

    // The mean over heads of each cell of a [heads, cells] pattern (NaN where no head defines it).
    private static double[] HeadMean(double[] pattern, int heads, int cells) =>
        [.. Enumerable.Range(0, cells).Select(c => Enumerable.Range(0, heads).Select(h => pattern[h * cells + c])
            .Where(v => !double.IsNaN(v)).DefaultIfEmpty(double.NaN).Average())];
}
