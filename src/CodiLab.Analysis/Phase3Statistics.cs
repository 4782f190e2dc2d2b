using MathNet.Numerics.Distributions;
using MathNet.Numerics.Random;
using MathNet.Numerics.Statistics;

namespace CodiLab.Analysis;

/// <summary>Paired outcomes of one condition against the baseline, problem by problem.</summary>
/// <param name="Fixed">Wrong (or failed) in the baseline, right under the condition.</param>
/// <param name="Broken">Right in the baseline, wrong (or failed) under the condition.</param>
/// <param name="Unchanged">Same correctness in both.</param>
public sealed record PairedCounts(int Fixed, int Broken, int Unchanged);

/// <summary>
/// The statistics Phase 3 reports (docs/experiment.md#phase-3-causal-interventions). Pure functions on arrays; the
/// distributions come from MathNet.Numerics, the resampling from its seeded Mersenne Twister so every interval is
/// reproducible from the spec's seed.
/// </summary>
public static class Phase3Statistics
{
    /// <summary>The two-sided 95% normal quantile, z = Φ⁻¹(0.975) ≈ 1.959964.</summary>
    public static readonly double Z95 = Normal.InvCDF(0, 1, 0.975);

    /// <summary>
    /// The Wilson score interval of <paramref name="successes"/> out of <paramref name="n"/> (95%): centre
    /// (p + z²/2n)/(1 + z²/n), half-width z·√(p(1−p)/n + z²/4n²)/(1 + z²/n). Unlike the normal approximation it stays
    /// inside [0, 1] and is not empty at 0 or n successes. n = 0 gives (NaN, 0, 1).
    /// </summary>
    public static Interval Wilson(int successes, int n)
    {
        if (n < 0 || successes < 0 || successes > n) throw new ArgumentOutOfRangeException(nameof(successes));
        if (n == 0) return new Interval(double.NaN, 0, 1);
        double p = (double)successes / n, z2 = Z95 * Z95;
        var denominator = 1 + z2 / n;
        var centre = (p + z2 / (2.0 * n)) / denominator;
        var half = Z95 * Math.Sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / denominator;
        return new Interval(p, Math.Max(0, centre - half), Math.Min(1, centre + half));
    }

    /// <summary>
    /// The mean of paired differences with a percentile bootstrap 95% interval: <paramref name="resamples"/> draws of n
    /// problems with replacement (seeded), the interval is the 2.5th and 97.5th percentiles of the resampled means.
    /// Non-finite differences (a failed problem's log-probability) are left out first. Empty input gives NaNs.
    /// </summary>
    public static Interval PairedBootstrapMean(IReadOnlyList<double> differences, int resamples, long seed)
    {
        var d = differences.Where(double.IsFinite).ToArray();
        if (d.Length == 0) return new Interval(double.NaN, double.NaN, double.NaN);
        var rng = new MersenneTwister(unchecked((int)seed));
        var means = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            double sum = 0;
            for (int i = 0; i < d.Length; i++) sum += d[rng.Next(d.Length)];
            means[r] = sum / d.Length;
        }
        return Bootstrap.Percentiles(d.Average(), means);
    }

    /// <summary>Δ accuracy (condition − baseline) with its paired bootstrap interval; failures count as not correct.</summary>
    public static Interval DeltaAccuracy(IReadOnlyList<bool> baseline, IReadOnlyList<bool> condition, int resamples, long seed)
    {
        if (baseline.Count != condition.Count) throw new ArgumentException("baseline and condition cover different problems");
        var d = baseline.Select((b, i) => (condition[i] ? 1.0 : 0.0) - (b ? 1.0 : 0.0)).ToArray();
        return PairedBootstrapMean(d, resamples, seed);
    }

    /// <summary>Fixed, broken and unchanged problems of a condition against the baseline.</summary>
    public static PairedCounts Paired(IReadOnlyList<bool> baseline, IReadOnlyList<bool> condition)
    {
        if (baseline.Count != condition.Count) throw new ArgumentException("baseline and condition cover different problems");
        int fixedCount = 0, broken = 0;
        for (int i = 0; i < baseline.Count; i++)
        {
            if (!baseline[i] && condition[i]) fixedCount++;
            if (baseline[i] && !condition[i]) broken++;
        }
        return new PairedCounts(fixedCount, broken, baseline.Count - fixedCount - broken);
    }

    /// <summary>
    /// The exact (binomial) McNemar test, two-sided: under no effect each discordant problem is fixed or broken with
    /// probability ½, so p = min(1, 2·P[X ≤ min(b, c)]) for X ~ Binomial(b + c, ½). No discordant pair gives 1.
    /// </summary>
    public static double McNemarExact(int fixedCount, int broken)
    {
        var n = fixedCount + broken;
        if (n == 0) return 1;
        return Math.Min(1, 2 * Binomial.CDF(0.5, n, Math.Min(fixedCount, broken)));
    }

    /// <summary>
    /// Benjamini–Hochberg q-values in the input order: sorted ascending, q_(i) = min over j ≥ i of m·p_(j)/j, capped at 1.
    /// NaN p-values stay NaN and do not count towards m.
    /// </summary>
    public static double[] BenjaminiHochberg(IReadOnlyList<double> p)
    {
        var q = Enumerable.Repeat(double.NaN, p.Count).ToArray();
        var order = Enumerable.Range(0, p.Count).Where(i => !double.IsNaN(p[i])).OrderBy(i => p[i]).ToArray();
        var m = order.Length;
        var running = 1.0;
        for (int rank = m; rank >= 1; rank--)
        {
            var i = order[rank - 1];
            running = Math.Min(running, p[i] * m / rank);
            q[i] = Math.Min(1, running);
        }
        return q;
    }

    /// <summary>
    /// Spearman's ρ (Pearson on mid-ranks) of paired values, with a percentile bootstrap 95% interval over pairs
    /// (seeded). Fewer than 3 pairs, or a constant side, give NaN (a resample with a constant side is skipped).
    /// </summary>
    public static Interval SpearmanWithInterval(IReadOnlyList<double> x, IReadOnlyList<double> y, int resamples, long seed)
    {
        if (x.Count != y.Count) throw new ArgumentException("x and y differ in length");
        var pairs = x.Select((v, i) => (X: v, Y: y[i])).Where(t => double.IsFinite(t.X) && double.IsFinite(t.Y)).ToArray();
        var rho = Rho(pairs);
        if (double.IsNaN(rho)) return new Interval(double.NaN, double.NaN, double.NaN);
        var rng = new MersenneTwister(unchecked((int)seed));
        var draws = new List<double>(resamples);
        var sample = new (double X, double Y)[pairs.Length];
        for (int r = 0; r < resamples; r++)
        {
            for (int i = 0; i < pairs.Length; i++) sample[i] = pairs[rng.Next(pairs.Length)];
            var value = Rho(sample);
            if (!double.IsNaN(value)) draws.Add(value);
        }
        return Bootstrap.Percentiles(rho, [.. draws]);
    }

    private static double Rho((double X, double Y)[] pairs)
    {
        if (pairs.Length < 3) return double.NaN;
        var xs = pairs.Select(p => p.X).ToArray();
        var ys = pairs.Select(p => p.Y).ToArray();
        if (xs.Distinct().Count() < 2 || ys.Distinct().Count() < 2) return double.NaN;
        return Correlation.Spearman(xs, ys);
    }

    /// <summary>
    /// The exact one-sided binomial p-value of at least <paramref name="successes"/> in <paramref name="n"/> at rate
    /// <paramref name="rate"/>: P[X ≥ successes].
    /// </summary>
    public static double BinomialAtLeast(int successes, int n, double rate)
    {
        if (successes <= 0) return 1;
        if (rate <= 0) return 0;
        if (rate >= 1) return 1;
        return 1 - Binomial.CDF(rate, n, successes - 1);
    }
}
