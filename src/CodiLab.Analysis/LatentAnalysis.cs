namespace CodiLab.Analysis;

/// <summary>
/// Labelled metrics on the latent view (docs/experiment.md#the-latent-view): rows BOT, z1..zK; columns P0, question,
/// BOT, z1..zK; NaN = not visible and never counted. Per-problem arrays [N, L, H, K+1, K+3].
/// </summary>
public sealed class LatentAnalysis
{
    private readonly float[]? _raw;

    /// <summary>Wraps per-problem latent arrays and each problem's prompt length (question tokens + BOT).</summary>
    public LatentAnalysis(float[] raw, int problems, int layers, int heads, int latents, IReadOnlyList<int> promptTokens)
        : this(problems, layers, heads, latents, promptTokens, raw.Length == (long)problems * layers * heads * (latents + 1) * (latents + 3)
            ? raw : throw new ArgumentException("latent array size does not match its shape", nameof(raw)), () => [(0, problems, raw)])
    {
    }

    private LatentAnalysis(int problems, int layers, int heads, int latents, IReadOnlyList<int> promptTokens, float[]? raw,
        Func<IEnumerable<(long First, int Count, float[] Values)>> blocks)
    {
        (_raw, N, Layers, Heads, K, PromptTokens) = (raw, problems, layers, heads, latents, promptTokens);
        (Mean, Std) = Moments(blocks, Layers * Heads * Rows * Columns);
    }

    /// <summary>
    /// The means and SDs only, from the per-problem array given in blocks of whole problems (read twice, in order), so that
    /// the array is never held whole; what needs the per-problem values (<see cref="Raw"/> and everything built on it)
    /// is not available from it.
    /// </summary>
    public static LatentAnalysis OfMoments(Func<IEnumerable<(long First, int Count, float[] Values)>> blocks, int problems, int layers,
        int heads, int latents, IReadOnlyList<int> promptTokens) => new(problems, layers, heads, latents, promptTokens, null, blocks);

    // Two passes problem by problem (the array is read in order; a cell-by-cell walk would stride by a whole problem): the
    // sums give the means, then the squared deviations from them give the population std; NaN cells are not counted.
    private static (float[] Mean, float[] Std) Moments(Func<IEnumerable<(long First, int Count, float[] Values)>> blocks, int cells)
    {
        var (sum, sq, count) = (new double[cells], new double[cells], new int[cells]);
        foreach (var (_, problems, values) in blocks())
            for (int n = 0; n < problems; n++)
            {
                var problem = values.AsSpan().Slice(checked((int)((long)n * cells)), cells);
                for (int c = 0; c < cells; c++)
                {
                    var v = problem[c];
                    if (float.IsNaN(v)) continue;
                    sum[c] += v;
                    count[c]++;
                }
            }
        for (int c = 0; c < cells; c++) sum[c] = count[c] == 0 ? double.NaN : sum[c] / count[c];
        foreach (var (_, problems, values) in blocks())
            for (int n = 0; n < problems; n++)
            {
                var problem = values.AsSpan().Slice(checked((int)((long)n * cells)), cells);
                for (int c = 0; c < cells; c++)
                {
                    var v = problem[c];
                    if (!float.IsNaN(v)) sq[c] += (v - sum[c]) * (v - sum[c]);
                }
            }
        var (mean, std) = (new float[cells], new float[cells]);
        for (int c = 0; c < cells; c++)
        {
            mean[c] = (float)sum[c];
            std[c] = count[c] == 0 ? float.NaN : (float)Math.Sqrt(sq[c] / count[c]);
        }
        return (mean, std);
    }

    // The per-problem values, which a view of the moments only does not have.
    private float[] Values => _raw ?? throw new InvalidOperationException(
        "this latent view holds the means and SDs only (LatentAnalysis.OfMoments); per-problem values need the full array");

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
    public double UniformRatio(int column, bool withoutFirst) =>
        OverVisibleQueries(column, withoutFirst ? Term.UniformRatioWithoutFirst : Term.UniformRatio);

    /// <summary>Hub α of a key after dropping P0 and renormalising each row, averaged over problems and heads.</summary>
    public double AlphaWithoutFirst(int column) => OverVisibleQueries(column, Term.WithoutFirst);

    private enum Term
    {
        UniformRatio,
        UniformRatioWithoutFirst,
        WithoutFirst,
    }

    // Mean of a term of (A[z_a -> column], A[z_a -> P0], keys visible to z_a) over problems, heads and the latent
    // queries that see the column; a term that does not exist (P0 holding the whole row, without P0) is left out.
    private double OverVisibleQueries(int column, Term term)
    {
        var (first, raw) = (column >= Z(1) ? column - 2 : 1, Values);
        double sum = 0;
        long count = 0;
        var cells = Layers * Heads * Rows * Columns;
        for (int n = 0; n < N; n++)
            for (int lh = 0; lh < Layers * Heads; lh++)
                for (int a = first; a <= K; a++)
                {
                    var at = (long)n * cells + (lh * Rows + a) * Columns;
                    double v = raw[at + column], p0 = raw[at + P0];
                    if (double.IsNaN(v)) continue;
                    var visible = PromptTokens[n] + a;
                    if (term != Term.UniformRatio && !(p0 < 1)) continue;
                    sum += term switch
                    {
                        Term.UniformRatio => v * visible,
                        Term.UniformRatioWithoutFirst => v / (1 - p0) * (visible - 1),
                        _ => v / (1 - p0),
                    };
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
    public double[] SinkRatePerProblem(int column, double threshold) => [.. Profile(column, threshold).RatePerProblem];

    /// <summary>
    /// One key's α (with self-attention) summarised per problem in one pass, kept once computed: the mean over every head,
    /// and how many heads of each layer exceed the threshold.
    /// </summary>
    /// <param name="MeanOverHeads">[N]: α averaged over every head (NaN for a failed problem).</param>
    /// <param name="RatePerProblem">[N]: % of all heads with α above the threshold (NaN for a failed problem).</param>
    /// <param name="AboveByLayer">[N, L]: heads of the layer with α above the threshold.</param>
    public sealed record KeyProfile(double[] MeanOverHeads, double[] RatePerProblem, int[,] AboveByLayer);

    private readonly Dictionary<(int Column, double Threshold), KeyProfile> _profiles = [];
    private readonly Dictionary<int, double> _alphaWithoutSelf = [];

    /// <summary>The <see cref="KeyProfile"/> of a key column at a threshold.</summary>
    public KeyProfile Profile(int column, double threshold)
    {
        lock (_profiles)
        {
            if (_profiles.TryGetValue((column, threshold), out var known)) return known;
            var (mean, rate, above) = (new double[N], new double[N], new int[N, Layers]);
            var alphas = new double[Layers * Heads];
            for (int n = 0; n < N; n++)
            {
                if (Failed(n)) { (mean[n], rate[n]) = (double.NaN, double.NaN); continue; }
                AlphasOf(n, column, withSelf: true, alphas);
                double sum = 0;
                var count = 0;
                for (int lh = 0; lh < alphas.Length; lh++)
                {
                    sum += alphas[lh];
                    if (alphas[lh] > threshold) (count, above[n, lh / Heads]) = (count + 1, above[n, lh / Heads] + 1);
                }
                (mean[n], rate[n]) = (sum / alphas.Length, 100.0 * count / alphas.Length);
            }
            return _profiles[(column, threshold)] = new KeyProfile(mean, rate, above);
        }
    }

    // One problem's α of a key for every head: the mean of A[z_a → key] over the latent queries that see it; without self,
    // z_b's own row is left out (z_K then has no query: NaN).
    private void AlphasOf(int n, int column, bool withSelf, double[] into)
    {
        var (first, raw) = (column >= Z(1) ? column - 2 + (withSelf ? 0 : 1) : 1, Values);
        var cells = Layers * Heads * Rows * Columns;
        for (int lh = 0; lh < Layers * Heads; lh++)
        {
            double sum = 0;
            for (int a = first; a <= K; a++) sum += raw[(long)n * cells + (lh * Rows + a) * Columns + column];
            into[lh] = first > K ? double.NaN : sum / (K - first + 1);
        }
    }

    /// <summary>Visibility-normalised α of a key without the key's own query (z_b's self-attention left out).</summary>
    public double AlphaWithoutSelf(int column)
    {
        lock (_alphaWithoutSelf)
        {
            if (_alphaWithoutSelf.TryGetValue(column, out var known)) return known;
            var alphas = new double[Layers * Heads];
            double sum = 0;
            long count = 0;
            for (int n = 0; n < N; n++)
            {
                if (Failed(n)) continue;
                AlphasOf(n, column, withSelf: false, alphas);
                foreach (var v in alphas) sum += v;
                count += alphas.Length;
            }
            return _alphaWithoutSelf[column] = count == 0 ? double.NaN : sum / count;
        }
    }

    /// <summary>Head mean per problem, [N][Rows·Columns] (NaN where not visible or the problem failed).</summary>
    public double[][] HeadMeanByProblem()
    {
        var (block, raw) = (Rows * Columns, Values);
        var result = new double[N][];
        for (int n = 0; n < N; n++)
        {
            var m = result[n] = new double[block];
            for (int lh = 0; lh < Layers * Heads; lh++)
                for (int c = 0; c < block; c++) m[c] += raw[((long)n * Layers * Heads + lh) * block + c];
            for (int c = 0; c < block; c++) m[c] /= Layers * Heads;
        }
        return result;
    }

    /// <summary>One raw cell: problem n, head index l·H + h, query row, key column.</summary>
    public float Raw(int n, int layerHead, int row, int column) =>
        Values[((long)n * Layers * Heads + layerHead) * Rows * Columns + row * Columns + column];

    /// <summary>Whether problem n failed (no prompt recorded, or NaN where z1 reads P0).</summary>
    public bool Failed(int n) => PromptTokens[n] <= 0 || float.IsNaN(Raw(n, 0, 1, P0));

    /// <summary>Consistency over visible cells only.</summary>
    public (double MeanStd, double MaxStd, double MinStd) Consistency()
    {
        var visible = Std.Where(v => !float.IsNaN(v)).Select(v => (double)v).ToList();
        return (visible.Average(), visible.Max(), visible.Min());
    }
}
