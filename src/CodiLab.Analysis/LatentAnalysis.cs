namespace CodiLab.Analysis;

/// <summary>
/// Labelled metrics on the latent view (docs/experiment.md#the-latent-view): rows BOT, z1..zK; columns P0, question,
/// BOT, z1..zK; NaN = not visible and never counted. Per-problem arrays [N, L, H, K+1, K+3].
/// </summary>
public sealed class LatentAnalysis
{
    private readonly float[] _raw;

    /// <summary>Wraps per-problem latent arrays and each problem's prompt length (question tokens + BOT).</summary>
    public LatentAnalysis(float[] raw, int problems, int layers, int heads, int latents, IReadOnlyList<int> promptTokens)
    {
        (_raw, N, Layers, Heads, K, PromptTokens) = (raw, problems, layers, heads, latents, promptTokens);
        if (raw.Length != (long)N * Layers * Heads * Rows * Columns)
            throw new ArgumentException("latent array size does not match its shape");
        Mean = new float[Layers * Heads * Rows * Columns];
        Std = new float[Mean.Length];
        for (int c = 0; c < Mean.Length; c++)
        {
            double sum = 0, sq = 0;
            var count = 0;
            for (int n = 0; n < N; n++)
            {
                var v = raw[(long)n * Mean.Length + c];
                if (float.IsNaN(v)) continue;
                sum += v;
                count++;
            }
            var mean = count == 0 ? double.NaN : sum / count;
            for (int n = 0; n < N; n++)
            {
                var v = raw[(long)n * Mean.Length + c];
                if (!float.IsNaN(v)) sq += (v - mean) * (v - mean);
            }
            Mean[c] = (float)mean;
            Std[c] = count == 0 ? float.NaN : (float)Math.Sqrt(sq / count);
        }
    }

    /// <summary>Problems.</summary>
    public int N { get; }

    /// <summary>Layers.</summary>
    public int Layers { get; }

    /// <summary>Heads per layer.</summary>
    public int Heads { get; }

    /// <summary>Continuous thoughts.</summary>
    public int K { get; }

    /// <summary>Prompt length per problem (keys before z1).</summary>
    public IReadOnlyList<int> PromptTokens { get; }

    /// <summary>Queries: BOT, z1..zK.</summary>
    public int Rows => K + 1;

    /// <summary>Keys: P0, question, BOT, z1..zK.</summary>
    public int Columns => K + 3;

    /// <summary>Mean over problems [L, H, K+1, K+3] (NaN where not visible).</summary>
    public float[] Mean { get; }

    /// <summary>Population std over problems.</summary>
    public float[] Std { get; }

    /// <summary>Column index of P0 / question / BOT / z_b.</summary>
    public const int P0 = 0, Question = 1, Bot = 2;

    /// <summary>Column of z_b (b = 1..K).</summary>
    public static int Z(int b) => 2 + b;

    /// <summary>Mean cell of one head.</summary>
    public float Cell(int layer, int head, int row, int column) => Mean[((layer * Heads + head) * Rows + row) * Columns + column];

    /// <summary>A cell averaged over every head.</summary>
    public double HeadMean(int row, int column)
    {
        double sum = 0;
        for (int l = 0; l < Layers; l++)
            for (int h = 0; h < Heads; h++) sum += Cell(l, h, row, column);
        return sum / (Layers * Heads);
    }

    /// <summary>
    /// Visibility-normalised hub score of key column c for one head (or every head when layer is null): the mean
    /// of A[z_a → c] over the latent queries that can see c (z_b: a = b..K; P0, question, BOT: all K).
    /// </summary>
    public double Alpha(int column, int? layer = null, int? head = null)
    {
        var first = column >= Z(1) ? column - 2 : 1;
        double sum = 0;
        var count = 0;
        for (int l = 0; l < Layers; l++)
            for (int h = 0; h < Heads; h++)
            {
                if (layer is { } ll && (l != ll || h != head)) continue;
                for (int a = first; a <= K; a++)
                {
                    sum += Cell(l, h, a, column);
                    count++;
                }
            }
        return sum / count;
    }

    /// <summary>
    /// α as a ratio to a uniform causal row (A × number of visible keys), per problem, then averaged; with
    /// <paramref name="withoutFirst"/>, P0 is dropped and each row renormalised first (sink-aware variant).
    /// </summary>
    public double UniformRatio(int column, bool withoutFirst) => OverVisibleQueries(column, (v, p0, visible) =>
        withoutFirst ? (p0 < 1 ? v / (1 - p0) * (visible - 1) : null) : v * visible);

    /// <summary>Hub α of a key after dropping P0 and renormalising each row, averaged over problems and heads.</summary>
    public double AlphaWithoutFirst(int column) => OverVisibleQueries(column, (v, p0, _) => p0 < 1 ? v / (1 - p0) : null);

    // Mean of term(A[z_a -> column], A[z_a -> P0], keys visible to z_a) over problems, heads and the latent
    // queries that see the column; a null term is left out.
    private double OverVisibleQueries(int column, Func<double, double, int, double?> term)
    {
        var first = column >= Z(1) ? column - 2 : 1;
        double sum = 0;
        long count = 0;
        var cells = Layers * Heads * Rows * Columns;
        for (int n = 0; n < N; n++)
            for (int lh = 0; lh < Layers * Heads; lh++)
                for (int a = first; a <= K; a++)
                {
                    var at = (long)n * cells + (lh * Rows + a) * Columns;
                    var v = _raw[at + column];
                    if (float.IsNaN(v) || term(v, _raw[at + P0], PromptTokens[n] + a) is not { } value) continue;
                    sum += value;
                    count++;
                }
        return count == 0 ? double.NaN : sum / count;
    }

    /// <summary>Per-head numbers for the latent stats, layer-major.</summary>
    public IEnumerable<LatentHeadRow> HeadTable()
    {
        for (int l = 0; l < Layers; l++)
            for (int h = 0; h < Heads; h++)
            {
                double max = 0, self = 0, seq = 0, bot = 0, p0 = 0, question = 0;
                for (int a = 1; a <= K; a++)
                {
                    for (int b = 1; b <= a; b++) max = Math.Max(max, Cell(l, h, a, Z(b)));
                    self += Cell(l, h, a, Z(a));
                    if (a > 1) seq += Cell(l, h, a, Z(a - 1));
                    bot += Cell(l, h, a, Bot);
                    p0 += Cell(l, h, a, P0);
                    question += Cell(l, h, a, Question);
                }
                yield return new LatentHeadRow(l, h, max, self / K, K > 1 ? seq / (K - 1) : 0, bot / K, p0 / K, question / K,
                    Alpha(P0, l, h), Alpha(Bot, l, h), Alpha(Z(1), l, h));
            }
    }

    /// <summary>
    /// Sink rate in %: per problem, the share of heads whose α for a key (over that problem's latent queries)
    /// exceeds the threshold, averaged over the problems that succeeded.
    /// </summary>
    public double SinkRate(int column, double threshold) => Bootstrap.Mean(SinkRatePerProblem(column, threshold)).Value;

    /// <summary>Per problem, the % of heads whose α for the key exceeds the threshold (NaN for a failed problem).</summary>
    public double[] SinkRatePerProblem(int column, double threshold) =>
        [.. AlphaByProblemHead(column, withSelf: true).Select(row => row.Length == 0 ? double.NaN
            : 100.0 * row.Count(v => v > threshold) / row.Length)];

    /// <summary>
    /// α of a key per problem and head, [N][L·H] (an empty row for a failed problem): the mean of A[z_a → key] over
    /// the latent queries that see it; without self, z_b's own row is left out (z_K then has no query: NaN).
    /// </summary>
    public double[][] AlphaByProblemHead(int column, bool withSelf)
    {
        var first = column >= Z(1) ? column - 2 + (withSelf ? 0 : 1) : 1;
        var cells = Layers * Heads * Rows * Columns;
        var result = new double[N][];
        for (int n = 0; n < N; n++)
        {
            if (Failed(n)) { result[n] = []; continue; }
            result[n] = new double[Layers * Heads];
            for (int lh = 0; lh < Layers * Heads; lh++)
            {
                double sum = 0;
                for (int a = first; a <= K; a++) sum += _raw[(long)n * cells + (lh * Rows + a) * Columns + column];
                result[n][lh] = first > K ? double.NaN : sum / (K - first + 1);
            }
        }
        return result;
    }

    /// <summary>Visibility-normalised α of a key without the key's own query (z_b's self-attention left out).</summary>
    public double AlphaWithoutSelf(int column) =>
        AlphaByProblemHead(column, withSelf: false).Where(r => r.Length > 0).SelectMany(r => r).DefaultIfEmpty(double.NaN).Average();

    /// <summary>Head mean per problem, [N][Rows·Columns] (NaN where not visible or the problem failed).</summary>
    public double[][] HeadMeanByProblem()
    {
        var block = Rows * Columns;
        var result = new double[N][];
        for (int n = 0; n < N; n++)
        {
            var m = result[n] = new double[block];
            for (int lh = 0; lh < Layers * Heads; lh++)
                for (int c = 0; c < block; c++) m[c] += _raw[((long)n * Layers * Heads + lh) * block + c];
            for (int c = 0; c < block; c++) m[c] /= Layers * Heads;
        }
        return result;
    }

    /// <summary>One raw cell: problem n, head index l·H + h, query row, key column.</summary>
    public float Raw(int n, int layerHead, int row, int column) =>
        _raw[((long)n * Layers * Heads + layerHead) * Rows * Columns + row * Columns + column];

    /// <summary>Whether problem n failed (no prompt recorded, or NaN where z1 reads P0).</summary>
    public bool Failed(int n) => PromptTokens[n] <= 0 || float.IsNaN(Raw(n, 0, 1, P0));

    /// <summary>Consistency over visible cells only.</summary>
    public (double MeanStd, double MaxStd, double MinStd) Consistency()
    {
        var visible = Std.Where(v => !float.IsNaN(v)).Select(v => (double)v).ToList();
        return (visible.Average(), visible.Max(), visible.Min());
    }
}
