namespace CodiLab.Analysis;

/// <summary>The latent view's JSON files: <c>latent_stats.json</c> (aggregate) and <c>latent_summary.json</c> (analyze).</summary>
public static class LatentReport
{
    /// <summary>Threshold of the sink rate (% of heads whose α for a key exceeds it, per problem).</summary>
    public const double SinkThreshold = 0.3;

    /// <summary>Labelled aggregate: consistency over visible cells, the head-mean matrix, per-head table, top heads.</summary>
    public static LatentStats Stats(string model, LatentAnalysis a, int top)
    {
        var rows = Conventions.LatentRows(a.K);
        var cols = Conventions.LatentColumns(a.K);
        var (meanStd, maxStd, minStd) = a.Consistency();
        var heads = a.HeadTable().ToList();
        var matrix = new Dictionary<string, IReadOnlyDictionary<string, double?>>();
        for (int r = 0; r < a.Rows; r++)
        {
            var row = new Dictionary<string, double?>();
            for (int c = 0; c < a.Columns; c++)
            {
                var v = a.HeadMean(r, c);
                row[cols[c]] = double.IsNaN(v) ? null : v;
            }
            matrix[rows[r]] = row;
        }
        return new LatentStats(model, "latent", a.N, a.Layers, a.Heads, rows, cols,
            new LatentConsistency(meanStd, maxStd, minStd, "visible cells only", meanStd < 0.2), matrix,
            [.. heads.OrderByDescending(h => h.MaxLatentAttention).Take(top)], heads);
    }

    /// <summary>
    /// Labelled metrics: mass by key group, sequential/self/skip on true indices, visibility-normalised hubs with and
    /// without P0, sink rates.
    /// </summary>
    public static LatentSummary Summary(string model, int failures, LatentAnalysis a)
    {
        var k = a.K;
        var mass = new Dictionary<string, LatentMass>();
        for (int q = 1; q <= k; q++)
        {
            double earlier = 0;
            for (int b = 1; b < q; b++) earlier += a.HeadMean(q, LatentAnalysis.Z(b));
            mass[Z(q)] = new LatentMass(
                a.HeadMean(q, LatentAnalysis.P0), a.HeadMean(q, LatentAnalysis.Question), a.HeadMean(q, LatentAnalysis.Bot), earlier,
                a.HeadMean(q, LatentAnalysis.Z(q)));
        }
        var sequential = new Dictionary<string, double>();
        for (int q = 2; q <= k; q++) sequential[$"{Z(q)}->{Z(q - 1)}"] = a.HeadMean(q, LatentAnalysis.Z(q - 1));
        var self = new Dictionary<string, double>();
        for (int q = 1; q <= k; q++) self[Z(q)] = a.HeadMean(q, LatentAnalysis.Z(q));
        var skip = new Dictionary<string, double>();
        for (int d = 2; d < k; d++)
            skip[d.ToString(System.Globalization.CultureInfo.InvariantCulture)] =
                Enumerable.Range(d + 1, k - d).Average(q => a.HeadMean(q, LatentAnalysis.Z(q - d)));
        return new LatentSummary(model, "latent", a.N, failures, mass,
            new BotRow(a.HeadMean(0, LatentAnalysis.P0), a.HeadMean(0, LatentAnalysis.Question), a.HeadMean(0, LatentAnalysis.Bot)),
            sequential, sequential.Count > 0 ? sequential.Values.Average() : null, self,
            Enumerable.Range(1, k).Average(q => a.HeadMean(q, LatentAnalysis.Z(q))), skip, Hubs(a), Argmax(a),
            new SinkRates(SinkDefinition, SinkThreshold, a.SinkRate(LatentAnalysis.P0, SinkThreshold),
                a.SinkRate(LatentAnalysis.Bot, SinkThreshold), a.SinkRate(LatentAnalysis.Z(1), SinkThreshold)));
    }

    /// <summary>How the sink rate is computed, as the summary states it.</summary>
    public const string SinkDefinition = "% of heads with alpha > threshold, per problem, averaged over problems";

    /// <summary>
    /// The key with the largest α over two named sets (every key; latents only), each with self-attention counted
    /// and without it (z_b's own row left out, so z_K, read only by itself, drops out).
    /// </summary>
    public static List<HubArgmax> Argmax(LatentAnalysis a)
    {
        var k = a.K;
        var keys = new List<(string Name, int Column)> { ("P0", LatentAnalysis.P0), ("BOT", LatentAnalysis.Bot) };
        keys.AddRange(Enumerable.Range(1, k).Select(b => (Z(b), LatentAnalysis.Z(b))));
        string Best(IEnumerable<(string Name, int Column)> set, bool withSelf) => set
            .Select(x => (x.Name, Alpha: withSelf ? a.Alpha(x.Column) : a.AlphaWithoutSelf(x.Column)))
            .Where(x => !double.IsNaN(x.Alpha)).OrderByDescending(x => x.Alpha).Select(x => x.Name).FirstOrDefault() ?? "–";
        var latents = keys.Skip(2).ToList();
        var lastWithOthers = k > 1 ? $"z1..z{k - 1} without self" : "none without self";
        return
        [
            new HubArgmax($"P0, BOT, z1..z{k}", Best(keys, true), Best(keys, false)),
            new HubArgmax($"z1..z{k} ({lastWithOthers})", Best(latents, true), Best(latents, false)),
        ];
    }

    private static string Z(int b) => $"z{b}";

    // α of P0, BOT and every latent, with and without P0 (rows renormalised); P0 has no "without P0" variant.
    private static Dictionary<string, LatentHub> Hubs(LatentAnalysis a)
    {
        var keys = new List<(string Label, int Column)> { ("P0", LatentAnalysis.P0), ("BOT", LatentAnalysis.Bot) };
        keys.AddRange(Enumerable.Range(1, a.K).Select(b => (Z(b), LatentAnalysis.Z(b))));
        return keys.ToDictionary(x => x.Label, x => x.Column == LatentAnalysis.P0
            ? new LatentHub(a.Alpha(x.Column), null, a.UniformRatio(x.Column, withoutFirst: false), null)
            : new LatentHub(a.Alpha(x.Column), a.AlphaWithoutFirst(x.Column), a.UniformRatio(x.Column, withoutFirst: false),
                a.UniformRatio(x.Column, withoutFirst: true)));
    }
}
