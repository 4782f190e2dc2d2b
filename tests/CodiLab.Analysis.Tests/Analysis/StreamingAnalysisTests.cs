using CodiLab.Analysis;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>
/// The fast paths of the analysis (issue 14): resampling by counts must give the index-based bootstrap's numbers, and a
/// computation fed problem blocks must give what it gives on the whole array.
/// </summary>
public sealed class StreamingAnalysisTests
{
    private static readonly double[] Values = [.. Enumerable.Range(0, 57).Select(i => Math.Sin(i * 1.7) + i % 5 * 0.1)];

    [Fact]
    public void Resampled_means_by_counts_equal_the_means_of_the_drawn_indices()
    {
        var draws = Bootstrap.Draws(Values.Length, 300, 11).ToArray();
        var means = Resampling.Of(Values.Length, 300, 11).Means(Values);
        Assert.Equal(300, means.Length);
        for (int r = 0; r < draws.Length; r++) Assert.Equal(draws[r].Average(i => Values[i]), means[r], 12);
    }

    [Fact]
    public void Mean_ratio_and_paired_intervals_equal_the_index_based_bootstrap()
    {
        double[] other = [.. Values.Select((v, i) => 2 + v * v + i * 0.01)];
        // The statistic written as the index-based bootstrap computes it, with the same draws.
        var mean = Bootstrap.Of(Values.Length, idx => idx.Average(i => Values[i]));
        var ratio = Bootstrap.Of(Values.Length, idx => idx.Sum(i => Values[i]) / idx.Sum(i => other[i]));
        var paired = Bootstrap.Of(Values.Length, idx => idx.Average(i => other[i] - Values[i]));
        AssertClose(mean, Bootstrap.Mean(Values));
        AssertClose(ratio, Bootstrap.Ratio(Values, other));
        AssertClose(paired, Bootstrap.PairedDelta(Values, other));
    }

    [Fact]
    public void A_non_finite_value_only_touches_the_resamples_that_drew_it()
    {
        double[] values = [.. Values];
        values[7] = double.PositiveInfinity;
        var draws = Bootstrap.Draws(values.Length, 200, 4).ToArray();
        var means = Resampling.Of(values.Length, 200, 4).Means(values);
        for (int r = 0; r < draws.Length; r++)
        {
            if (draws[r].Contains(7)) Assert.Equal(double.PositiveInfinity, means[r]);
            else Assert.Equal(draws[r].Average(i => values[i]), means[r], 12);
        }
        Assert.Contains(draws, d => !d.Contains(7));
    }

    [Fact]
    public void Column_means_of_a_table_equal_the_per_column_means_of_each_resample()
    {
        const int n = 45, columns = 37; // more columns than one vector block, and not a multiple of one
        var table = new float[n * columns];
        for (int i = 0; i < table.Length; i++) table[i] = (float)((i * 7919 % 1000) / 1000.0);
        var draws = Bootstrap.Draws(n, 50, 3).ToArray();
        var means = Resampling.Of(n, 50, 3).ColumnMeans(columns, (i, row) => table.AsSpan(i * columns, columns).CopyTo(row));
        for (int r = 0; r < draws.Length; r++)
            for (int c = 0; c < columns; c++)
                // Single-precision sums over at most 256 draws: about 1e-7 relative.
                Assert.Equal(draws[r].Average(i => (double)table[i * columns + c]), means[r][c], tolerance: 1e-6);
    }

    [Fact]
    public void Latent_moments_from_blocks_equal_those_of_the_whole_array_and_per_problem_values_are_refused()
    {
        var (n, layers, heads, k) = (7, 2, 3, 3);
        var raw = LatentArray(n, layers, heads, k);
        var prompts = Enumerable.Repeat(12, n).ToArray();
        var whole = new LatentAnalysis(raw, n, layers, heads, k, prompts);
        var streamed = LatentAnalysis.OfMoments(() => Blocks(raw, n, 3), n, layers, heads, k, prompts);
        Assert.Equal(whole.Mean, streamed.Mean);
        Assert.Equal(whole.Std, streamed.Std);
        Assert.Equal(whole.Alpha(LatentAnalysis.Bot), streamed.Alpha(LatentAnalysis.Bot));
        var refused = Assert.Throws<InvalidOperationException>(() => streamed.Raw(0, 0, 1, 0));
        Assert.Contains("means and SDs only", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Per_head_latent_metrics_from_blocks_equal_those_of_the_whole_array()
    {
        var (n, layers, heads, k) = (9, 2, 2, 4);
        var raw = LatentArray(n, layers, heads, k);
        var whole = HeadMetrics.Latent(raw, n, layers, heads, k);
        var streamed = HeadMetrics.Latent(Blocks(raw, n, 4), n, layers, heads, k);
        Assert.Equal(whole.Count, streamed.Count);
        for (int h = 0; h < whole.Count; h++)
        {
            Assert.Equal(whole[h].Metrics, streamed[h].Metrics);
            Assert.Equal(whole[h].PerProblem.Keys, streamed[h].PerProblem.Keys);
            foreach (var (name, v) in whole[h].PerProblem) Assert.Equal(v, streamed[h].PerProblem[name]);
        }
        Assert.Equal(
            ["sequential", "self", "skip_d2", "skip_d3", "bot_mass", "p0_mass", "question_mass", "hub_P0", "hub_BOT", "hub_z1", "hub_z2",
                "hub_z3", "hub_z4", "receiver_kurtosis"],
            whole[0].Metrics.Keys);
    }

    [Fact]
    public void Excess_kurtosis_matches_its_textbook_value()
    {
        // Population moments of {1, 2, 3, 4, 10}: mean 4, deviations −3, −2, −1, 0, 6; m2 = 50/5 = 10, m4 = 1394/5 = 278.8.
        Assert.Equal(278.8 / 100 - 3, HeadMetrics.ExcessKurtosis([1, 2, 3, 4, 10]), 12);
        Assert.Equal(0, HeadMetrics.ExcessKurtosis([2, 2, 2]));
    }

    [Fact]
    public void The_strongest_key_of_each_row_is_the_first_of_its_top_k()
    {
        // 2 problems × 3 rows × top 2: the first entry of each row.
        float[] keys = [5, 1, 6, 2, 7, 3, 8, 4, 9, 5, 10, 6];
        Assert.Equal([5, 6, 7, 8, 9, 10], TopKeyKinds.Strongest(Blocks(keys, 2, 1), 2, 3, 2));
    }

    private static void AssertClose(Interval expected, Interval actual)
    {
        Assert.Equal(expected.Value, actual.Value, 12);
        Assert.Equal(expected.Low, actual.Low, 12);
        Assert.Equal(expected.High, actual.High, 12);
    }

    // A latent array [n, L, H, K+1, K+3] whose rows are distributions over the keys each query sees (NaN elsewhere).
    private static float[] LatentArray(int n, int layers, int heads, int k)
    {
        var (rows, cols) = (k + 1, k + 3);
        var raw = new float[n * layers * heads * rows * cols];
        var random = new Random(5);
        for (int cell = 0; cell < n * layers * heads; cell++)
            for (int r = 0; r < rows; r++)
            {
                var at = (cell * rows + r) * cols;
                var seen = 3 + r;
                double sum = 0;
                for (int c = 0; c < seen; c++) sum += raw[at + c] = (float)random.NextDouble();
                for (int c = 0; c < cols; c++) raw[at + c] = c < seen ? (float)(raw[at + c] / sum) : float.NaN;
            }
        return raw;
    }

    // The array in blocks of whole problems, as a streaming reader gives them (a fresh buffer per block here).
    private static IEnumerable<(long First, int Count, float[] Values)> Blocks(float[] values, int problems, int perBlock)
    {
        var cells = values.Length / problems;
        for (int first = 0; first < problems; first += perBlock)
        {
            var count = Math.Min(perBlock, problems - first);
            yield return (first, count, values.AsSpan(first * cells, count * cells).ToArray());
        }
    }
}
