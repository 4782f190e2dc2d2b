using System.Globalization;
using System.Text;

namespace CodiLab.Analysis;

/// <summary>One head's seed metrics (docs/experiment.md#phase-2-per-head-metrics).</summary>
public sealed record SeedHead(
    int Layer, int Head, string LayerType, double Flow, double Hub, int HubPosition, double Skip, double Max, double Mean)
{
    /// <summary>Min–max normalised scores and the composite (set by <see cref="HeadMetrics.Seed"/>).</summary>
    public double FlowNorm { get; init; }

    /// <summary>Normalised hub score.</summary>
    public double HubNorm { get; init; }

    /// <summary>Normalised skip score.</summary>
    public double SkipNorm { get; init; }

    /// <summary>0.4·flow_norm + 0.4·hub_norm + 0.2·skip_norm.</summary>
    public double Composite { get; init; }

    /// <summary>Forward Flow / Hub Aggregator / Skip Connection / Multi-Purpose.</summary>
    public string FunctionalType { get; init; } = "";
}

/// <summary>One head's labelled latent-view metrics: each the mean over problems and its SD across them.</summary>
public sealed record LatentHead(int Layer, int Head, IReadOnlyDictionary<string, (double Mean, double Std)> Metrics)
{
    /// <summary>Each metric's value per successful problem (for intervals and rank intervals).</summary>
    public IReadOnlyDictionary<string, double[]> PerProblem { get; init; } = new Dictionary<string, double[]>();
}

/// <summary>Per-head metrics: the seed's (script 6, artefacts and all) and the labelled latent-view ones.</summary>
public static class HeadMetrics
{
    private const int S = Conventions.SeedSize;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>early if l &lt; ⌊L/3⌋, middle if l &lt; ⌊2L/3⌋, else late.</summary>
    public static string LayerType(int layer, int layers) => layer < layers / 3 ? "early" : layer < 2 * layers / 3 ? "middle" : "late";

    /// <summary>The seed's per-head metrics on the float16-rounded mean [L, H, 6, 6], in (layer, head) order.</summary>
    public static List<SeedHead> Seed(float[] rounded, int layers, int heads)
    {
        var list = new List<SeedHead>();
        for (int l = 0; l < layers; l++)
            for (int h = 0; h < heads; h++)
            {
                var m = rounded.AsSpan((l * heads + h) * S * S, S * S);
                double lower = 0, withDiagonal = 0;
                var columns = new double[S];
                for (int i = 0; i < S; i++)
                    for (int j = 0; j < S; j++)
                    {
                        if (j < i) lower += m[i * S + j];
                        if (j <= i) withDiagonal += m[i * S + j];
                        columns[j] += m[i * S + j];
                    }
                var flow = withDiagonal == 0 ? 0 : lower / withDiagonal;
                var mean = columns.Average();
                var hub = columns.Average(c => (c - mean) * (c - mean));
                var skip = (m[5 * S + 0] + m[5 * S + 1] + m[5 * S + 2]) / 3.0;
                double max = float.MinValue, sum = 0;
                foreach (var v in m) { max = Math.Max(max, v); sum += v; }
                var hubPosition = Array.IndexOf(columns, columns.Max());
                list.Add(new SeedHead(l, h, LayerType(l, layers), flow, hub, hubPosition, skip, max, sum / (S * S)));
            }
        double[] Norm(Func<SeedHead, double> f)
        {
            var values = list.Select(f).ToArray();
            var (min, max) = (values.Min(), values.Max());
            return [.. values.Select(v => (v - min) / (max - min + 1e-10))];
        }
        var (fn, hn, sn) = (Norm(x => x.Flow), Norm(x => x.Hub), Norm(x => x.Skip));
        return [.. list.Select((x, i) =>
        {
            var scores = new[] { ("Forward Flow", fn[i]), ("Hub Aggregator", hn[i]), ("Skip Connection", sn[i]) };
            (string Name, double Norm)[] ranked = [.. scores.OrderByDescending(t => t.Item2)];
            var type = ranked[0].Norm > 0.7 && ranked[1].Norm > 0.7 ? "Multi-Purpose" : ranked[0].Name;
            var composite = 0.4 * fn[i] + 0.4 * hn[i] + 0.2 * sn[i];
            return x with { FlowNorm = fn[i], HubNorm = hn[i], SkipNorm = sn[i], Composite = composite, FunctionalType = type };
        })];
    }

    /// <summary>Heads by a score, descending, ties in (layer, head) order (the seed's sort was unstable; this pins one order).</summary>
    public static List<SeedHead> RankBy(IEnumerable<SeedHead> heads, Func<SeedHead, double> score) => [.. heads.OrderByDescending(score)];

    /// <summary>The seed's four CSV files, keyed by name.</summary>
    public static Dictionary<string, string> SeedCsv(IReadOnlyList<SeedHead> heads) => new()
    {
        ["heads_ranked_by_flow.csv"] = Csv("layer,head,flow_score,layer_type",
            RankBy(heads, h => h.Flow).Select(h => $"{h.Layer},{h.Head},{N(h.Flow)},{h.LayerType}")),
        ["heads_ranked_by_hub.csv"] = Csv("layer,head,hub_score,hub_position,layer_type",
            RankBy(heads, h => h.Hub).Select(h => $"{h.Layer},{h.Head},{N(h.Hub)},{h.HubPosition},{h.LayerType}")),
        ["heads_ranked_by_skip.csv"] = Csv("layer,head,skip_score,layer_type",
            RankBy(heads, h => h.Skip).Select(h => $"{h.Layer},{h.Head},{N(h.Skip)},{h.LayerType}")),
        ["ranked_heads.csv"] = Csv("layer,head,layer_type,flow_score,hub_score,skip_score,composite_score,functional_type,max_attention",
            RankBy(heads, h => h.Composite).Select(h => $"{h.Layer},{h.Head},{h.LayerType},{N(h.Flow)},{N(h.Hub)},{N(h.Skip)},"
                + $"{N(h.Composite)},{h.FunctionalType},{N(h.Max)}")),
    };

    /// <summary>
    /// critical_heads_findings.txt: the top 3, type and layer-type counts in the top 20, score means and maxima, the
    /// (empty) composite &gt; 0.7 list.
    /// </summary>
    public static string Findings(string model, IReadOnlyList<SeedHead> heads)
    {
        var ranked = RankBy(heads, h => h.Composite);
        var top = ranked.Take(20).ToList();
        var text = new StringBuilder();
        text.Append(Inv, $"CRITICAL HEADS - {model}\n\nTop 3 heads by composite score:\n");
        for (int i = 0; i < Math.Min(3, ranked.Count); i++)
        {
            var h = ranked[i];
            text.Append(Inv, $"{i + 1}. L{h.Layer}H{h.Head} ({h.FunctionalType}, {h.LayerType}): ")
                .Append(Inv, $"composite {h.Composite:0.000}, flow {h.Flow:0.000}, hub {h.Hub:0.000} (position {h.HubPosition}), ")
                .Append(Inv, $"skip {h.Skip:0.000}, max {h.Max:0.000}\n");
        }
        text.Append(Inv, $"\nFunctional types in the top {top.Count}:\n");
        var byType = top.GroupBy(h => h.FunctionalType).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal);
        foreach (var g in byType) text.Append(Inv, $"  {g.Key}: {g.Count()}\n");
        text.Append(Inv, $"\nLayer types in the top {top.Count}:\n");
        foreach (var t in new[] { "early", "middle", "late" }) text.Append(Inv, $"  {t}: {top.Count(h => h.LayerType == t)}\n");
        text.Append("\nScores over all heads (mean / max):\n");
        var scores = new (string, Func<SeedHead, double>)[]
            { ("flow", h => h.Flow), ("hub", h => h.Hub), ("skip", h => h.Skip), ("composite", h => h.Composite) };
        foreach (var (name, f) in scores)
            text.Append(Inv, $"  {name}: {heads.Average(f):0.0000} / {heads.Max(f):0.0000}\n");
        var strong = ranked.Where(h => h.Composite > 0.7).ToList();
        var strongNames = strong.Count == 0 ? "none" : string.Join(", ", strong.Select(h => $"L{h.Layer}H{h.Head}"));
        text.Append(Inv, $"\nHeads with composite > 0.7: {strongNames}\n");
        text.Append("\nArtefacts of the seed's definitions (kept for parity):\n");
        text.Append("  flow is 1 for every head with any attention (the seed diagonal is structurally zero): ")
            .Append(Inv, $"{heads.Count(h => h.Flow == 1)}/{heads.Count} heads\n");
        text.Append(Inv, $"  composite <= 0.6 (flow_norm is 0 for all heads): max composite {heads.Max(h => h.Composite):0.000}\n");
        return text.ToString();
    }

    /// <summary>
    /// Labelled per-head metrics on the latent view [N, L, H, K+1, K+3], per problem then mean and std across
    /// problems: sequential (z_a → z_(a−1)), self, skip curve over offsets d ≥ 2, visibility-normalised hub α per
    /// key, BOT and question mass, and the excess kurtosis of the head's incoming α over keys (receiver heads).
    /// </summary>
    public static List<LatentHead> Latent(float[] raw, int problems, int layers, int heads, int k) =>
        Latent([(0, problems, raw)], problems, layers, heads, k);

    /// <summary>
    /// The same, from the array given in blocks of whole problems (first problem, problems, values), in order, so that the
    /// array need not be held whole.
    /// </summary>
    public static List<LatentHead> Latent(
        IEnumerable<(long First, int Count, float[] Values)> blocks, int problems, int layers, int heads, int k)
    {
        var (rows, cols, lh) = (k + 1, k + 3, layers * heads);
        var cellsPerProblem = lh * rows * cols;
        var keyNames = new List<(string Name, int Column)> { ("P0", 0), ("BOT", 2) };
        keyNames.AddRange(Enumerable.Range(1, k).Select(b => ($"z{b}", 2 + b)));
        // The metrics in the order the CSV lists them; a value is the mean of cells (query a, key column) over a range of a.
        var names = new List<string>();
        if (k >= 2) names.Add("sequential");
        names.Add("self");
        names.AddRange(Enumerable.Range(2, Math.Max(0, k - 2)).Select(d => $"skip_d{d}"));
        names.AddRange(["bot_mass", "p0_mass", "question_mass", .. keyNames.Select(x => $"hub_{x.Name}"), "receiver_kurtosis"]);
        // Per head and metric, the values of the problems where it is defined (a failed problem, or NaN, is left out).
        var values = new double[lh, names.Count][];
        var counts = new int[lh, names.Count];
        for (int h = 0; h < lh; h++)
            for (int m = 0; m < names.Count; m++) values[h, m] = new double[problems];
        var metric = new double[names.Count];
        var alphas = new double[keyNames.Count];
        // Problem by problem (the array is read in order), every head of the problem.
        foreach (var (_, blockCount, block) in blocks)
        {
            for (int n = 0; n < blockCount; n++)
            {
                var problem = block.AsSpan().Slice(checked((int)((long)n * cellsPerProblem)), cellsPerProblem);
                for (int h = 0; h < lh; h++)
                {
                    var cells = problem.Slice(h * rows * cols, rows * cols);
                    if (float.IsNaN(cells[cols])) continue; // a failed problem: z1 has no P0 entry
                    OneProblem(cells, k, keyNames, metric, alphas);
                    for (int i = 0; i < names.Count; i++)
                        if (!double.IsNaN(metric[i])) values[h, i][counts[h, i]++] = metric[i];
                }
            }
        }
        var result = new List<LatentHead>(lh);
        for (int h = 0; h < lh; h++)
        {
            var kept = Enumerable.Range(0, names.Count).Where(i => counts[h, i] > 0).ToList();
            foreach (var i in kept)
                if (counts[h, i] < problems) Array.Resize(ref values[h, i], counts[h, i]);
            result.Add(new LatentHead(h / heads, h % heads, kept.ToDictionary(i => names[i], i => MeanStd(values[h, i]), StringComparer.Ordinal))
            {
                PerProblem = kept.ToDictionary(i => names[i], i => values[h, i], StringComparer.Ordinal),
            });
        }
        return result;
    }

    // One head's metrics on one problem, in the order Latent names them; alphas receives the hub α per key.
    private static void OneProblem(ReadOnlySpan<float> cells, int k, List<(string Name, int Column)> keyNames, double[] metric, double[] alphas)
    {
        var cols = k + 3;
        // The mean of cells (query a, key) over a = first..last; the key is the given column, or z_(a − offset) when it is −1.
        double Mean(int first, int last, int offset, int column, ReadOnlySpan<float> c)
        {
            double sum = 0;
            for (int a = first; a <= last; a++) sum += c[a * cols + (column < 0 ? 2 + a - offset : column)];
            return sum / (last - first + 1);
        }
        var m = 0;
        if (k >= 2) metric[m++] = Mean(2, k, 1, -1, cells);
        metric[m++] = Mean(1, k, 0, -1, cells);
        for (int d = 2; d < k; d++) metric[m++] = Mean(d + 1, k, d, -1, cells);
        metric[m++] = Mean(1, k, 0, 2, cells);
        metric[m++] = Mean(1, k, 0, 0, cells);
        metric[m++] = Mean(1, k, 0, 1, cells); // P1.., P0 apart (issue 15)
        for (int x = 0; x < keyNames.Count; x++)
        {
            var c = keyNames[x].Column;
            metric[m++] = alphas[x] = Mean(c >= 3 ? c - 2 : 1, k, 0, c, cells);
        }
        metric[m] = ExcessKurtosis(alphas);
    }

    /// <summary>latent_heads.csv: one row per head, every metric's mean and std.</summary>
    public static string LatentCsv(IReadOnlyList<LatentHead> heads, int layers)
    {
        var names = heads[0].Metrics.Keys.ToList();
        return Csv("layer,head,layer_type," + string.Join(",", names.SelectMany(n => new[] { n, n + "_std" })),
            heads.Select(h => $"{h.Layer},{h.Head},{LayerType(h.Layer, layers)},"
                + string.Join(",", names.SelectMany(n => new[] { N(h.Metrics[n].Mean), N(h.Metrics[n].Std) }))));
    }

    /// <summary>Fisher's excess kurtosis (population moments); 0 for a constant vector.</summary>
    public static double ExcessKurtosis(IReadOnlyList<double> values)
    {
        // Math.Pow as before (d·d·d·d rounds more often than pow(d, 4), which would change stored values).
        double mean = 0, m2 = 0, m4 = 0;
        for (int i = 0; i < values.Count; i++) mean += values[i];
        mean /= values.Count;
        for (int i = 0; i < values.Count; i++) m2 += Math.Pow(values[i] - mean, 2);
        for (int i = 0; i < values.Count; i++) m4 += Math.Pow(values[i] - mean, 4);
        (m2, m4) = (m2 / values.Count, m4 / values.Count);
        return m2 == 0 ? 0 : m4 / (m2 * m2) - 3;
    }

    private static (double, double) MeanStd(double[] values)
    {
        double mean = 0, sq = 0;
        foreach (var v in values) mean += v;
        mean /= values.Length;
        foreach (var v in values) sq += (v - mean) * (v - mean);
        return (mean, Math.Sqrt(sq / values.Length));
    }

    private static string Csv(string header, IEnumerable<string> lines) => header + "\n" + string.Concat(lines.Select(l => l + "\n"));

    private static string N(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
