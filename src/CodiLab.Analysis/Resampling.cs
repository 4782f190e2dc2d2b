using System.Numerics;

namespace CodiLab.Analysis;

/// <summary>
/// The bootstrap's resamples as counts: for each resample, which problems were drawn and how often. A resampled mean is
/// then Σ count·value / N, so a statistic that is a mean (or a ratio of sums) of per-problem values costs one pass over
/// the drawn problems per resample instead of one delegate call per draw, and the means of many columns at once (every
/// cell of every head) are one matrix product of the counts with a [problems × columns] table. The counts come from
/// exactly the draws <see cref="Bootstrap.Draws"/> makes, so the intervals are those of the index-based bootstrap up to
/// the order in which floating-point sums are added.
/// </summary>
public sealed class Resampling
{
    private static readonly Lock Gate = new();
    private static readonly List<Resampling> Recent = [];

    // Per resample, the drawn problems (ascending, each once) and how many times each was drawn.
    private readonly int[][] _problems;
    private readonly float[][] _counts;

    private Resampling(int n, int resamples, int seed)
    {
        (N, Count, Seed) = (n, resamples, seed);
        (_problems, _counts) = (new int[resamples][], new float[resamples][]);
        var tally = new int[n];
        var r = 0;
        foreach (var idx in Bootstrap.Draws(n, resamples, seed))
        {
            Array.Clear(tally);
            foreach (var i in idx) tally[i]++;
            var drawn = 0;
            foreach (var t in tally) drawn += t > 0 ? 1 : 0;
            var (problems, counts) = (new int[drawn], new float[drawn]);
            for (int i = 0, j = 0; i < n; i++)
                if (tally[i] > 0) (problems[j], counts[j++]) = (i, tally[i]);
            (_problems[r], _counts[r]) = (problems, counts);
            r++;
        }
    }

    /// <summary>Problems per resample.</summary>
    public int N { get; }

    /// <summary>Resamples.</summary>
    public int Count { get; }

    /// <summary>The seed of the draws.</summary>
    public int Seed { get; }

    /// <summary>
    /// The resamples of <paramref name="n"/> problems (the last few shapes asked for are kept, since one analysis draws
    /// the same resamples for dozens of statistics).
    /// </summary>
    public static Resampling Of(int n, int resamples = Bootstrap.Resamples, int seed = Bootstrap.Seed)
    {
        lock (Gate)
        {
            var found = Recent.Find(x => x.N == n && x.Count == resamples && x.Seed == seed);
            if (found is null)
            {
                found = new Resampling(n, resamples, seed);
                if (Recent.Count == 4) Recent.RemoveAt(0);
                Recent.Add(found);
            }
            return found;
        }
    }

    /// <summary>Σ count·value over one resample's draws (NaN when a drawn value is NaN, as the index-based sum gives).</summary>
    public double Sum(int resample, ReadOnlySpan<double> values)
    {
        var (problems, counts) = (_problems[resample], _counts[resample]);
        double sum = 0;
        for (int j = 0; j < problems.Length; j++) sum += counts[j] * values[problems[j]];
        return sum;
    }

    /// <summary>The sum of the values in each resample (a vectorised dot product of the values with each resample's counts).</summary>
    public double[] Sums(IReadOnlyList<double> values)
    {
        var v = values as double[] ?? [.. values];
        if (v.Length != N) throw new ArgumentException($"{v.Length} values for resamples of {N} problems", nameof(values));
        var sums = new double[Count];
        if (!v.All(double.IsFinite))
        {
            // The dense product would spread a non-finite value to the resamples that never drew it (0 × ∞ is NaN).
            for (int r = 0; r < Count; r++) sums[r] = Sum(r, v);
            return sums;
        }
        var dense = Dense();
        var lanes = Vector<double>.Count;
        for (int r = 0; r < Count; r++)
        {
            var counts = dense.AsSpan(r * N, N);
            var (low, high) = (Vector<double>.Zero, Vector<double>.Zero);
            var i = 0;
            for (; i + 2 * lanes <= N; i += 2 * lanes)
            {
                Vector.Widen(new Vector<float>(counts[i..]), out var a, out var b);
                low += a * new Vector<double>(v, i);
                high += b * new Vector<double>(v, i + lanes);
            }
            var sum = Vector.Sum(low + high);
            for (; i < N; i++) sum += counts[i] * v[i];
            sums[r] = sum;
        }
        return sums;
    }

    private float[]? _dense;

    // The counts as one dense [resample × problem] table (zeros included), built on first use.
    private float[] Dense()
    {
        lock (_problems)
        {
            if (_dense is null)
            {
                var dense = LargeArrays.New<float>((long)Count * N);
                for (int r = 0; r < Count; r++)
                    for (int j = 0; j < _problems[r].Length; j++) dense[(long)r * N + _problems[r][j]] = _counts[r][j];
                _dense = dense;
            }
            return _dense;
        }
    }

    /// <summary>The mean of the values in each resample.</summary>
    public double[] Means(IReadOnlyList<double> values)
    {
        var means = Sums(values);
        for (int r = 0; r < Count; r++) means[r] /= N;
        return means;
    }

    /// <summary>
    /// The mean of every column of a [N × <paramref name="columns"/>] table in each resample, [resample][column]. Rows are
    /// given by <paramref name="fillRow"/> (problem, row to fill), each asked for once; the table is held once, packed in
    /// column blocks that stay in cache while every resample passes over them, and the blocks are spread over the cores.
    /// Sums run in single precision over runs of at most 256 draws and in double precision across them.
    /// </summary>
    public double[][] ColumnMeans(int columns, Action<int, Span<float>> fillRow)
    {
        var width = 2 * Vector<float>.Count;
        var blocks = (columns + width - 1) / width;
        // packed[b][i·width + w] = row i, column b·width + w (zero past the last column).
        LargeArrays.MakeRoom((long)N * width * blocks * sizeof(float));
        var packed = new float[blocks][];
        for (int b = 0; b < blocks; b++) packed[b] = new float[(long)N * width is var size && size <= Array.MaxLength ? (int)size
            : throw new ArgumentException($"a column block of {N} problems is too large", nameof(columns))];
        var row = new float[columns];
        for (int i = 0; i < N; i++)
        {
            fillRow(i, row);
            for (int b = 0; b < blocks; b++)
                row.AsSpan(b * width, Math.Min(width, columns - b * width)).CopyTo(packed[b].AsSpan(i * width));
        }
        var means = new double[Count][];
        for (int r = 0; r < Count; r++) means[r] = new double[columns];
        Parallel.For(0, blocks, b => SumBlock(packed[b], b * width, Math.Min(width, columns - b * width), means));
        foreach (var m in means)
            for (int c = 0; c < columns; c++) m[c] /= N;
        return means;
    }

    private void SumBlock(float[] block, int first, int live, double[][] into)
    {
        var lanes = Vector<float>.Count;
        var total = new double[2 * lanes];
        for (int r = 0; r < Count; r++)
        {
            var (problems, counts) = (_problems[r], _counts[r]);
            Array.Clear(total);
            for (int start = 0; start < problems.Length; start += 256)
            {
                var (low, high) = (Vector<float>.Zero, Vector<float>.Zero);
                var end = Math.Min(problems.Length, start + 256);
                for (int j = start; j < end; j++)
                {
                    var at = problems[j] * 2 * lanes;
                    var c = new Vector<float>(counts[j]);
                    low += c * new Vector<float>(block, at);
                    high += c * new Vector<float>(block, at + lanes);
                }
                for (int w = 0; w < lanes; w++) (total[w], total[lanes + w]) = (total[w] + low[w], total[lanes + w] + high[w]);
            }
            var target = into[r];
            for (int w = 0; w < live; w++) target[first + w] = total[w];
        }
    }
}
