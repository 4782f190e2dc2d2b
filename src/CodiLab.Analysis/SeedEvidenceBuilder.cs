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
        // Hub position stability: the share of resamples whose largest column sum of the mean is the reported position.
        var columnSums = Resampling.Of(ok.Length).ColumnMeans(S, (i, row) =>
        {
            for (int c = 0; c < S; c++)
            {
                double sum = 0;
                for (int r = 0; r < S; r++) sum += hm[i][r * S + c];
                row[c] = (float)sum;
            }
        });
        var stable = ok.Length == 0 ? double.NaN : columnSums.Average(sums => Array.IndexOf(sums, sums.Max()) == position ? 1.0 : 0.0);
        double[] hubScore = [.. hm.Select(m => Enumerable.Range(0, S).Sum(i => m[i * S + position]))];
        perProblem?.TryAdd("seed.hub_score", hubScore);
        perProblem?.TryAdd("seed.hub_ratio", [.. hubScore.Select(v => v * S)]);
        var hubMean = Bootstrap.Mean(hubScore);
        var ratio = new Interval(hubMean.Value * S, hubMean.Low * S, hubMean.High * S);
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

    // Top heads by the max of the 36-cell mean, the argmax cell, the max's interval and the head's rank interval. Cells
    // that are zero on every problem (the triangle's structural cells) are left out of the resampling: their mean is 0 in
    // every resample and, attention being non-negative, never above the largest live cell.
    private static List<RankedHead> TopHeads(float[] raw, int[] ok, int lh, int heads, IReadOnlyList<(int Layer, int Head)> top)
    {
        var mean = new double[lh * Cells];
        var nonzero = new bool[Cells];
        foreach (var n in ok)
            for (int c = 0; c < mean.Length; c++)
                if (raw[(long)n * lh * Cells + c] is var v && v != 0) (mean[c], nonzero[c % Cells]) = (mean[c] + v, true);
        for (int c = 0; c < mean.Length; c++) mean[c] /= ok.Length; // no problem: NaN, as a mean of nothing is
        int[] live = [.. Enumerable.Range(0, Cells).Where(c => nonzero[c])];
        var point = HeadRanks.MaxPerHead(mean, lh, Cells);
        var resampled = ok.Length == 0 ? [] : Resampling.Of(ok.Length, Bootstrap.RankResamples).ColumnMeans(lh * live.Length, (i, row) =>
        {
            var at = (long)ok[i] * lh * Cells;
            for (int h = 0; h < lh; h++)
                for (int c = 0; c < live.Length; c++) row[h * live.Length + c] = raw[at + h * Cells + live[c]];
        });
        // A left-out cell's mean is 0 in every resample: the head's maximum is never below it.
        var floor = live.Length < Cells ? 0 : double.NegativeInfinity;
        double[][] scores = [.. resampled.Select(m => HeadRanks.MaxPerHead(m, lh, live.Length, floor))];
        var order = top.Select(t => t.Layer * heads + t.Head).ToArray();
        return HeadRanks.Of(point, order, scores, h =>
        {
            var cells = mean.AsSpan(h * Cells, Cells).ToArray();
            var at = Array.IndexOf(cells, cells.Max());
            return ($"[{at / S}, {at % S}]", Really(at / S, at % S));
        }, heads);
    }
}

/// <summary>Rank intervals of chosen heads, shared by the seed and latent top-heads tables.</summary>
public static class HeadRanks
{
    /// <summary>
    /// Each head's largest value in a [<paramref name="heads"/> × <paramref name="width"/>] row of values (never below
    /// <paramref name="floor"/>; NaN when one of its values is); a head of no cells gets the floor.
    /// </summary>
    public static double[] MaxPerHead(double[] values, int heads, int width, double floor = double.NegativeInfinity)
    {
        var max = new double[heads];
        for (int h = 0; h < heads; h++)
        {
            max[h] = floor;
            for (int c = 0; c < width; c++) max[h] = Math.Max(max[h], values[h * width + c]);
        }
        return max;
    }

    /// <summary>
    /// For each head in <paramref name="order"/>: its argmax cell, its score's interval and its rank's interval
    /// (1 + the number of heads scoring strictly higher, so ties share a rank), re-ranking every head in each of
    /// <paramref name="resampled"/> (every head's score in each resample, e.g. <see cref="Bootstrap.RankResamples"/> of them).
    /// </summary>
    public static List<RankedHead> Of(double[] point, int[] order, IReadOnlyList<double[]> resampled,
        Func<int, (string Cell, string Really)> argmax, int heads)
    {
        var drawn = order.Select(_ => new double[resampled.Count]).ToArray();
        var ranks = order.Select(_ => new double[resampled.Count]).ToArray();
        for (int r = 0; r < resampled.Count; r++)
        {
            var s = resampled[r];
            for (int k = 0; k < order.Length; k++)
            {
                var v = s[order[k]];
                drawn[k][r] = v;
                var higher = 0;
                foreach (var x in s) higher += x > v ? 1 : 0;
                ranks[k][r] = 1 + higher;
            }
        }
        return [.. order.Select((h, k) =>
        {
            var (cell, really) = argmax(h);
            var rank = Bootstrap.Percentiles(1 + point.Count(v => v > point[h]), ranks[k]);
            // Ranks are whole: the interval widens to the enclosing integers.
            return new RankedHead(h / heads, h % heads, cell, really, Bootstrap.Percentiles(point[h], drawn[k]),
                rank with { Low = Math.Floor(rank.Low), High = Math.Ceiling(rank.High) });
        })];
    }
}
