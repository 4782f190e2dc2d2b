namespace CodiLab.Analysis;

/// <summary>The model dimensions Phase 4's arrays are shaped by.</summary>
/// <param name="Layers">Transformer layers.</param>
/// <param name="Heads">Heads per layer.</param>
/// <param name="Latents">Continuous thoughts K.</param>
public sealed record Phase4Shape(int Layers, int Heads, int Latents)
{
    /// <summary>Heads in all layers.</summary>
    public int HeadCount => Layers * Heads;

    /// <summary>Seed-convention values per problem, [L, H, 6, 6].</summary>
    public int SeedCells => HeadCount * Conventions.SeedSize * Conventions.SeedSize;

    /// <summary>Latent-view rows (BOT, z1..zK) and columns (P0, question, BOT, z1..zK).</summary>
    public (int Rows, int Columns) Latent => (Latents + 1, Latents + 3);

    /// <summary>Latent-view values per problem, [L, H, K+1, K+3].</summary>
    public int LatentCells => HeadCount * (Latents + 1) * (Latents + 3);
}

/// <summary>
/// Everything Phase 4 derives from the per-problem arrays, gathered in one pass over them (problem by problem, so the
/// arrays are never in memory): per-cell mean and SD of both conventions (Welford; the seed convention counts every
/// problem, a failed one as its zero slot, as Phase 1 does; the latent view skips NaN), the same means over the
/// Phase 1 sample alone (whose rows are kept: they are few, and the correlation intervals resample them), and per
/// problem the headline metrics (<see cref="Phase4Metrics"/>) and the per-head metrics heads are ranked by.
/// </summary>
public sealed class Phase4Accumulator
{
    private const int S = Conventions.SeedSize;
    private readonly Phase4Shape _shape;
    private readonly double[] _seedMean, _seedM2, _latentMean, _latentM2;
    private readonly long[] _latentCount;
    private readonly IReadOnlySet<int> _members;
    private long _seen;

    /// <summary>Starts the pass over <paramref name="problems"/> problems; <paramref name="members"/> are the Phase 1 sample's rows.</summary>
    public Phase4Accumulator(Phase4Shape shape, int problems, IReadOnlySet<int> members)
    {
        (_shape, _members) = (shape, members);
        (_seedMean, _seedM2) = (new double[shape.SeedCells], new double[shape.SeedCells]);
        (_latentMean, _latentM2, _latentCount) = (new double[shape.LatentCells], new double[shape.LatentCells], new long[shape.LatentCells]);
        Headline = new double[Phase4Metrics.Headline.Count][];
        for (int m = 0; m < Headline.Length; m++) Headline[m] = new double[problems];
        HubIncoming = new double[problems][];
        HeadValues = new float[Phase4Metrics.HeadMetrics.Count][];
        for (int m = 0; m < HeadValues.Length; m++) HeadValues[m] = new float[(long)problems * shape.HeadCount];
    }

    /// <summary>Per headline metric (<see cref="Phase4Metrics.Headline"/>), its value per problem (NaN: failed, latent view).</summary>
    public double[][] Headline { get; }

    /// <summary>Per problem, the seed hub vector: column sums of its 6×6, averaged over heads.</summary>
    public double[][] HubIncoming { get; }

    /// <summary>Per head metric (<see cref="Phase4Metrics.HeadMetrics"/>), [problem × head] values (NaN: failed).</summary>
    public float[][] HeadValues { get; }

    /// <summary>The Phase 1 sample's seed rows, by problem index.</summary>
    public Dictionary<int, float[]> MemberSeed { get; } = [];

    /// <summary>The Phase 1 sample's latent rows, by problem index.</summary>
    public Dictionary<int, float[]> MemberLatent { get; } = [];

    /// <summary>Adds one problem's rows (problems in any order, each once).</summary>
    public void Add(int problem, bool success, ReadOnlySpan<float> seed, ReadOnlySpan<float> latent)
    {
        _seen++;
        for (int c = 0; c < seed.Length; c++)
        {
            var d = seed[c] - _seedMean[c];
            _seedMean[c] += d / _seen;
            _seedM2[c] += d * (seed[c] - _seedMean[c]);
        }
        for (int c = 0; c < latent.Length; c++)
        {
            if (float.IsNaN(latent[c])) continue;
            var n = ++_latentCount[c];
            var d = latent[c] - _latentMean[c];
            _latentMean[c] += d / n;
            _latentM2[c] += d * (latent[c] - _latentMean[c]);
        }
        if (_members.Contains(problem))
        {
            MemberSeed[problem] = seed.ToArray();
            MemberLatent[problem] = latent.ToArray();
        }
        PerProblem(problem, success, seed, latent);
    }

    private void PerProblem(int problem, bool success, ReadOnlySpan<float> seed, ReadOnlySpan<float> latent)
    {
        var heads = _shape.HeadCount;
        var (rows, cols) = _shape.Latent;
        var k = _shape.Latents;
        var incoming = new double[S];
        double seq = 0, p54 = 0, skip = 0, lSeq = 0, lSelf = 0, lBot = 0, lP0 = 0;
        for (int hd = 0; hd < heads; hd++)
        {
            var m = seed.Slice(hd * S * S, S * S);
            for (int i = 0; i < S; i++)
                for (int j = 0; j < S; j++) incoming[j] += m[i * S + j];
            double headSeq = 0;
            for (int i = 1; i < S; i++) headSeq += m[i * S + i - 1];
            seq += headSeq / (S - 1);
            p54 += m[5 * S + 4];
            var headSkip = (m[5 * S] + m[5 * S + 1] + m[5 * S + 2]) / 3.0;
            skip += headSkip;
            HeadValues[0][(long)problem * heads + hd] = (float)headSkip;
            var a = latent.Slice(hd * rows * cols, rows * cols);
            double headLSeq = 0;
            for (int q = 1; q <= k; q++)
            {
                if (q > 1) headLSeq += a[q * cols + LatentAnalysis.Z(q - 1)];
                lSelf += a[q * cols + LatentAnalysis.Z(q)];
                lBot += a[q * cols + LatentAnalysis.Bot];
                lP0 += a[q * cols + LatentAnalysis.P0];
            }
            headLSeq = k > 1 ? headLSeq / (k - 1) : double.NaN;
            lSeq += headLSeq;
            HeadValues[1][(long)problem * heads + hd] = success ? (float)headLSeq : float.NaN;
        }
        HubIncoming[problem] = [.. incoming.Select(v => v / heads)];
        double[] values =
        [
            incoming.Max() / heads, seq / heads, p54 / heads, skip / heads,
            lSeq / heads, lSelf / (heads * (double)k), lBot / (heads * (double)k), lP0 / (heads * (double)k),
        ];
        for (int m = 0; m < values.Length; m++) Headline[m][problem] = m >= 4 && !success ? double.NaN : values[m];
    }

    /// <summary>Problems added.</summary>
    public long Count => _seen;

    /// <summary>Per-cell seed mean and population SD over every problem.</summary>
    public (double[] Mean, double[] Std) Seed() => (_seedMean, [.. _seedM2.Select(v => Math.Sqrt(v / Math.Max(1, _seen)))]);

    /// <summary>Per-cell latent mean and population SD over the problems that see the cell (NaN where none does).</summary>
    public (double[] Mean, double[] Std) Latent() =>
        ([.. _latentMean.Select((v, c) => _latentCount[c] == 0 ? double.NaN : v)],
         [.. _latentM2.Select((v, c) => _latentCount[c] == 0 ? double.NaN : Math.Sqrt(v / _latentCount[c]))]);
}

/// <summary>The names of Phase 4's per-problem metrics.</summary>
public static class Phase4Metrics
{
    /// <summary>
    /// Headline metrics per problem: the seed convention's hub score (largest head-mean column sum), mean sequential
    /// M[i, i−1], M[5, 4], mean skip M[5, 0..2]; the latent view's z_q → z_(q−1), self, BOT and P0 attention, head means.
    /// </summary>
    public static readonly IReadOnlyList<string> Headline =
    [
        "seed_hub_score", "seed_avg_sequential", "seed_pos5_to_4", "seed_avg_skip",
        "latent_sequential", "latent_self", "latent_bot", "latent_p0",
    ];

    /// <summary>
    /// Per-head metrics heads are ranked by: the seed's skip score (mean M[5, 0..2]) and the latent view's sequential
    /// z_q → z_(q−1). Both are means over problems, so a subset's ranking is the ranking of its own mean.
    /// </summary>
    public static readonly IReadOnlyList<string> HeadMetrics = ["seed_skip", "latent_sequential"];
}
