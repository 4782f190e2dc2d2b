namespace CodiLab.Analysis;

/// <summary>
/// The seed convention's scores recomputed per problem from the raw [N, L, H, 6, 6] array (successful problems
/// only, unrounded), each beside its uniform-causal expectation: under uniform rows the query z_s sees
/// T_s = prompt tokens + s keys, so every visible seed cell M[s, j] (j &lt; s) is 1/T_s and the seed's hub column
/// sum is Σ_(s&gt;j) 1/T_s, the triangle's shape and nothing else.
/// </summary>
public static class SeedEvidenceBuilder
{
    private const int S = Conventions.SeedSize;
    private const int Cells = S * S;

    /// <summary>What a seed cell really is (query → key), or "structural" for a cell the seed never fills.</summary>
    public static string Really(int i, int j) =>
        i >= 1 && j < i ? (j == i - 1 ? $"z{i} → z{i} (self)" : $"z{i} → z{j + 1}") : "structural";

    /// <summary>Expectation of seed cell (i, j) under uniform causal rows, for a prompt of p tokens (BOT included).</summary>
    public static double UniformCell(int i, int j, int p) => i >= 1 && j < i ? 1.0 / (p + i) : 0;

    /// <summary>Builds the seed evidence; the verdict is given for the hub position the seed summary reports.</summary>
    /// <param name="raw">[N, L, H, 6, 6].</param>
    /// <param name="layers">L.</param>
    /// <param name="heads">H.</param>
    /// <param name="promptTokens">Per problem; 0 marks a failed problem.</param>
    /// <param name="top">The top heads to rank (layer, head), as the seed's stats list them.</param>
    /// <param name="hubPosition">The seed summary's hub position.</param>
    /// <param name="perProblem">Receives the per-problem values of the headline scores (for paired Compare deltas).</param>
    public static SeedEvidence Build(float[] raw, int layers, int heads, IReadOnlyList<int> promptTokens,
        IReadOnlyList<(int Layer, int Head)> top,
        int hubPosition,
        IDictionary<string, double[]>? perProblem = null)
    {
        var ok = Enumerable.Range(0, promptTokens.Count).Where(n => promptTokens[n] > 0).ToArray();
        var lh = layers * heads;
        // Head mean per problem, [ok, 36]: every seed score is linear in it.
        var hm = ok.Select(n =>
        {
            var m = new double[Cells];
            for (int h = 0; h < lh; h++)
                for (int c = 0; c < Cells; c++) m[c] += raw[((long)n * lh + h) * Cells + c];
            for (int c = 0; c < Cells; c++) m[c] /= lh;
            return m;
        }).ToArray();
        var p = ok.Select(n => promptTokens[n]).ToArray();
        Scored Cell(string name, Func<int, int, double> weight)
        {
            double[] measured = [.. hm.Select(m => Sum(weight, (i, j) => m[i * S + j]))];
            double[] uniform = [.. p.Select(t => Sum(weight, (i, j) => UniformCell(i, j, t)))];
            if (name.StartsWith("avg_", StringComparison.Ordinal)) perProblem?.TryAdd($"seed.{name}", measured);
            return Scored.Of(name, ReallyOf(weight), measured, uniform);
        }
        var hub = Enumerable.Range(0, S).Select(c => Cell($"hub[{c}]", (i, j) => j == c ? 1 : 0)).ToList();
        var seq = Enumerable.Range(1, S - 1).Select(r => Cell($"[{r}, {r - 1}]", (i, j) => i == r && j == r - 1 ? 1 : 0)).ToList();
        var avgSeq = Cell("avg_sequential", (i, j) => j == i - 1 && i >= 1 ? 1.0 / (S - 1) : 0);
        var skip = Enumerable.Range(0, 3).Select(t => Cell($"[5, {t}]", (i, j) => i == 5 && j == t ? 1 : 0)).ToList();
        var avgSkip = Cell("avg_skip", (i, j) => i == 5 && j < 3 ? 1.0 / 3 : 0);
        var position = hubPosition;
        var stable = Bootstrap.Draws(ok.Length).Average(idx =>
        {
            var sums = Enumerable.Range(0, S).Select(c => idx.Sum(n => Enumerable.Range(0, S).Sum(i => hm[n][i * S + c]))).ToList();
            return sums.IndexOf(sums.Max()) == position ? 1.0 : 0.0;
        });
        double[] hubScore = [.. hm.Select(m => Enumerable.Range(0, S).Sum(i => m[i * S + position]))];
        perProblem?.TryAdd("seed.hub_score", hubScore);
        perProblem?.TryAdd("seed.hub_ratio", [.. hubScore.Select(v => v * S)]);
        var ratio = Bootstrap.Of(ok.Length, idx => idx.Average(n => hubScore[n]) * S);
        var verdict = hub[position].Verdict == Scored.AtUniform
            ? "artefact: the seed's hub equals the uniform-causal expectation (the causal triangle), not a hub"
            : $"{hub[position].Verdict}: {F(hub[position].Ratio?.Value)}× the uniform-causal expectation";
        return new SeedEvidence(hub, position, stable, ratio, verdict, seq, avgSeq, skip, avgSkip,
            TopHeads(raw, ok, lh, heads, top));
    }

    private static double Sum(Func<int, int, double> weight, Func<int, int, double> cell)
    {
        double s = 0;
        for (int i = 0; i < S; i++)
            for (int j = 0; j < S; j++)
                if (weight(i, j) is var w && w != 0) s += w * cell(i, j);
        return s;
    }

    private static string ReallyOf(Func<int, int, double> weight)
    {
        var cells = new List<string>();
        for (int i = 0; i < S; i++)
            for (int j = 0; j < S; j++)
                if (weight(i, j) != 0) cells.Add(Really(i, j));
        var live = cells.Where(c => c != "structural").ToList();
        return live.Count == 0 ? "structural" : live.Count == 1 ? live[0] : live.Count <= 3 ? string.Join(", ", live)
            : $"{live.Count} cells";
    }

    private static string F(double? v) => v is { } d ? d.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) : "–";

    // Top heads by the max of the 36-cell mean, the argmax cell, the max's interval and the head's rank interval.
    private static List<RankedHead> TopHeads(float[] raw, int[] ok, int lh, int heads, IReadOnlyList<(int Layer, int Head)> top)
    {
        double[] MaxOf(int[] idx)
        {
            var max = new double[lh];
            var mean = new double[Cells];
            for (int h = 0; h < lh; h++)
            {
                Array.Clear(mean);
                foreach (var i in idx)
                    for (int c = 0; c < Cells; c++) mean[c] += raw[((long)ok[i] * lh + h) * Cells + c];
                max[h] = mean.Max() / idx.Length;
            }
            return max;
        }
        var all = Enumerable.Range(0, ok.Length).ToArray();
        var point = MaxOf(all);
        var order = top.Select(t => t.Layer * heads + t.Head).ToArray();
        return HeadRanks.Of(point, order, ok.Length, MaxOf, (h, idx) =>
        {
            var mean = new double[Cells];
            foreach (var i in idx)
                for (int c = 0; c < Cells; c++) mean[c] += raw[((long)ok[i] * lh + h) * Cells + c];
            var at = Array.IndexOf(mean, mean.Max());
            return ($"[{at / S}, {at % S}]", Really(at / S, at % S));
        }, heads);
    }
}

/// <summary>Rank intervals of chosen heads, shared by the seed and latent top-heads tables.</summary>
public static class HeadRanks
{
    /// <summary>
    /// For each head in <paramref name="order"/>: its argmax cell, its score's interval and its rank's interval
    /// (1 + the number of heads scoring strictly higher, so ties share a rank), re-ranking every head in each of
    /// <see cref="Bootstrap.RankResamples"/> resamples.
    /// </summary>
    public static List<RankedHead> Of(double[] point, int[] order, int n, Func<int[], double[]> scores,
        Func<int, int[], (string Cell, string Really)> argmax, int heads)
    {
        var drawn = new List<double>[order.Length];
        var ranks = new List<double>[order.Length];
        for (int k = 0; k < order.Length; k++) (drawn[k], ranks[k]) = ([], []);
        foreach (var idx in Bootstrap.Draws(n, Bootstrap.RankResamples))
        {
            var s = scores(idx);
            for (int k = 0; k < order.Length; k++)
            {
                drawn[k].Add(s[order[k]]);
                ranks[k].Add(1 + s.Count(v => v > s[order[k]]));
            }
        }
        var all = Enumerable.Range(0, n).ToArray();
        return [.. order.Select((h, k) =>
        {
            var (cell, really) = argmax(h, all);
            var rank = Bootstrap.Percentiles(1 + point.Count(v => v > point[h]), [.. ranks[k]]);
            // Ranks are whole: the interval widens to the enclosing integers.
            return new RankedHead(h / heads, h % heads, cell, really, Bootstrap.Percentiles(point[h], [.. drawn[k]]),
                rank with { Low = Math.Floor(rank.Low), High = Math.Ceiling(rank.High) });
        })];
    }
}
