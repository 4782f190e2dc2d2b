using System.Text.Json;
using System.Text.Json.Serialization;

namespace CodiLab.Analysis;

/// <summary>
/// A statistic and its two-sided 95% interval (a percentile bootstrap over problems, or Wilson for a proportion), in
/// JSON as <c>{"value", "ci_low", "ci_high"}</c> with null for a bound that cannot be computed.
/// </summary>
/// <param name="Value">The point estimate.</param>
/// <param name="Low">Lower end of the interval.</param>
/// <param name="High">Upper end of the interval.</param>
[JsonConverter(typeof(IntervalConverter))]
public sealed record Interval(double Value, double Low, double High)
{
    /// <summary>Whether the interval contains x.</summary>
    public bool Contains(double x) => Low <= x && x <= High;
}

/// <summary>Writes an <see cref="Interval"/> as <c>{value, ci_low, ci_high}</c> with null for a non-finite end, and reads it back.</summary>
public sealed class IntervalConverter : JsonConverter<Interval>
{
    /// <inheritdoc />
    public override Interval Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var doc = JsonDocument.ParseValue(ref reader);
        static double Get(JsonElement o, string name) =>
            o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
        var root = doc.RootElement;
        return new Interval(Get(root, "value"), Get(root, "ci_low"), Get(root, "ci_high"));
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, Interval value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        foreach (var (name, v) in new[] { ("value", value.Value), ("ci_low", value.Low), ("ci_high", value.High) })
        {
            if (double.IsFinite(v)) writer.WriteNumber(name, v);
            else writer.WriteNull(name);
        }
        writer.WriteEndObject();
    }
}

/// <summary>How the intervals of a file were drawn, so that a reader can redraw them.</summary>
public sealed record BootstrapSettings(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("resamples")] int Resamples,
    [property: JsonPropertyName("rank_resamples")] int RankResamples,
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("problems")] int Problems);

/// <summary>
/// Percentile bootstrap over problems (resample N problems with replacement, recompute the statistic, take the
/// 2.5th and 97.5th percentiles). Seeded with <see cref="System.Random"/>'s seeded generator, whose sequence is
/// fixed for a given seed, so an interval is reproducible and cacheable.
/// </summary>
public static class Bootstrap
{
    /// <summary>Resamples for intervals of means (cheap statistics).</summary>
    public const int Resamples = 2000;

    /// <summary>Resamples for head ranks (each resample re-ranks every head).</summary>
    public const int RankResamples = 200;

    /// <summary>The fixed seed of every interval.</summary>
    public const int Seed = 15;

    /// <summary>The settings as written beside the intervals.</summary>
    public static BootstrapSettings Settings(int problems) =>
        new("percentile bootstrap over problems, 95%", Resamples, RankResamples, Seed, problems);

    /// <summary>The problem indices of each resample (N draws with replacement), generated from the seed.</summary>
    public static IEnumerable<int[]> Draws(int n, int resamples = Resamples, int seed = Seed)
    {
        var random = new Random(seed);
        for (int r = 0; r < resamples; r++)
        {
            var idx = new int[n];
            for (int i = 0; i < n; i++) idx[i] = random.Next(n);
            yield return idx;
        }
    }

    /// <summary>Mean over problems with its interval (NaN entries, e.g. failed problems, are dropped first).</summary>
    public static Interval Mean(IReadOnlyList<double> perProblem)
    {
        double[] v = [.. perProblem.Where(x => !double.IsNaN(x))];
        return MeanOf(v);
    }

    /// <summary>Ratio of two per-problem sums (e.g. measured / uniform expectation) with its interval.</summary>
    public static Interval Ratio(IReadOnlyList<double> numerator, IReadOnlyList<double> denominator)
    {
        if (numerator.Count != denominator.Count)
            throw new ArgumentException($"{numerator.Count} numerators for {denominator.Count} denominators", nameof(denominator));
        if (numerator.Count == 0) return new Interval(double.NaN, double.NaN, double.NaN);
        var draws = Resampling.Of(numerator.Count);
        var (top, bottom) = (draws.Sums(numerator), draws.Sums(denominator));
        var ratios = new double[draws.Count];
        for (int r = 0; r < ratios.Length; r++) ratios[r] = top[r] / bottom[r];
        return Percentiles(InOrder(numerator) / InOrder(denominator), ratios);
    }

    /// <summary>B − A on the same problems: one draw of indices serves both sides (paired).</summary>
    public static Interval PairedDelta(IReadOnlyList<double> a, IReadOnlyList<double> b) => MeanOf([.. a.Select((x, i) => b[i] - x)]);

    // The mean of the values (every one counted) with its interval; no values, no interval.
    private static Interval MeanOf(double[] values) => values.Length == 0 ? new Interval(double.NaN, double.NaN, double.NaN)
        : Percentiles(InOrder(values) / values.Length, Resampling.Of(values.Length).Means(values));

    /// <summary>B − A on different problems: each side resampled on its own (same seed stream, interleaved).</summary>
    public static Interval UnpairedDelta(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        var point = b.Average() - a.Average();
        var random = new Random(Seed);
        var deltas = new double[Resamples];
        for (int r = 0; r < Resamples; r++)
        {
            double sa = 0, sb = 0;
            for (int i = 0; i < a.Count; i++) sa += a[random.Next(a.Count)];
            for (int i = 0; i < b.Count; i++) sb += b[random.Next(b.Count)];
            deltas[r] = sb / b.Count - sa / a.Count;
        }
        return Percentiles(point, deltas);
    }

    /// <summary>
    /// Any statistic of a set of problem indices, with its interval; the point value uses every problem once. A caller with its
    /// own settings (Phase 4's spec section) passes its resample count and seed.
    /// </summary>
    public static Interval Of(int n, Func<int[], double> statistic, int resamples = Resamples, int seed = Seed)
    {
        if (n == 0) return new Interval(double.NaN, double.NaN, double.NaN);
        var point = statistic([.. Enumerable.Range(0, n)]);
        var values = Draws(n, resamples, seed).Select(statistic).ToArray();
        return Percentiles(point, values);
    }

    // A plain left-to-right sum, as the point values have always been added (LINQ may vectorise and reorder a sum).
    private static double InOrder(IReadOnlyList<double> values)
    {
        double sum = 0;
        for (int i = 0; i < values.Count; i++) sum += values[i];
        return sum;
    }

    /// <summary>The 2.5th and 97.5th percentiles (linear interpolation between order statistics) around a point value.</summary>
    public static Interval Percentiles(double point, double[] values)
    {
        double[] sorted = [.. values.Where(v => !double.IsNaN(v)).Order()];
        if (sorted.Length == 0) return new Interval(point, double.NaN, double.NaN);
        double At(double q)
        {
            var pos = q * (sorted.Length - 1);
            var lo = (int)Math.Floor(pos);
            var hi = Math.Min(lo + 1, sorted.Length - 1);
            return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
        }
        return new Interval(point, At(0.025), At(0.975));
    }
}
