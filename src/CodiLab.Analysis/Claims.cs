using System.Globalization;

namespace CodiLab.Analysis;

/// <summary>
/// The seed's Phase 1 claims, each set against the labelled number that tests it (docs/experiment.md#claims):
/// the seed-convention number it was read from, and the latent-view number that measures what the claim says.
/// </summary>
public static class Claims
{
    private static string F(double v, string format = "0.0000") => v.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>The claims table for any spec.</summary>
    public static List<Claim> Build(SeedEvidence seed, LatentEvidence latent, SeedStats stats, LatentConsistency latentConsistency,
        double sequentialThreshold, double skipThreshold)
    {
        const string hub = "\"position 0 is a working-memory hub\"";
        var list = new List<Claim>();
        var h0 = seed.Hub[0];
        list.Add(new Claim(hub, "seed hub[0] (column sum of key z1) ÷ its uniform-causal expectation", h0.Ratio,
            h0.Verdict == Scored.AtUniform ? "artefact: at the causal triangle's expectation" : $"{h0.Verdict}"));
        var z1 = latent.Alpha.First(a => a.Metric == "z1");
        list.Add(new Claim(hub, "labelled: α(z1) ÷ uniform (z1 is what column 0 really is)", z1.Ratio, Supported(z1)));
        var z1NoSelf = latent.AlphaWithoutSelf.FirstOrDefault(a => a.Metric == "z1 (no self)");
        if (z1NoSelf is not null)
            list.Add(new Claim(hub, "labelled: α(z1) without z1's own row ÷ uniform", z1NoSelf.Ratio, Supported(z1NoSelf)));
        var avgSeq = seed.AvgSequential;
        list.Add(new Claim($"\"no sequential flow\" (avg < {F(sequentialThreshold, "0.##")})",
            "seed avg of [i, i−1] (really z_i self-attention)", avgSeq.Measured,
            $"{(avgSeq.Measured.High < sequentialThreshold ? "below the threshold" : "not below the threshold")}, "
            + "but these cells are self-attention, so they do not test flow"));
        if (latent.AvgSequential is { } trueSeq)
            list.Add(new Claim("\"no sequential flow\"", "labelled: mean z_a → z_(a−1) ÷ uniform", trueSeq.Ratio,
                FlowVerdict(trueSeq)));
        var avgSkip = seed.AvgSkip;
        list.Add(new Claim($"\"no skip connections\" (avg < {F(skipThreshold, "0.##")})", "seed avg of [5, 0..2] (z5 → z1..z3)",
            avgSkip.Measured, $"{(avgSkip.Measured.High < skipThreshold ? "below the threshold" : "not below the threshold")}; "
            + $"{avgSkip.Verdict} (×{F(avgSkip.Ratio?.Value ?? double.NaN, "0.00")})"));
        if (latent.Skip.FirstOrDefault() is { } d2)
            list.Add(new Claim("\"no skip connections\"", "labelled: skip curve d = 2 ÷ uniform", d2.Ratio, FlowVerdict(d2)));
        var atOneZero = seed.TopHeads.Count(h => h.ArgmaxCell == "[1, 0]");
        list.Add(new Claim("\"all top heads attend at [1 → 0]\"",
            $"share of the {seed.TopHeads.Count} top heads whose argmax cell is [1, 0] (z1 → z1, self)", null,
            $"{atOneZero} of {seed.TopHeads.Count}; [1, 0] is z1's self-attention (no interval: a count over the listed heads; "
            + "each head's rank interval is in the top-heads table)"));
        list.Add(new Claim("\"attention is consistent across problems\" (mean std < 0.2)",
            "seed mean std over all 36 cells per head", null,
            $"{F(stats.Consistency.MeanStd)} is deflated by 21 structural zeros per head; over visible latent cells "
            + $"{F(latentConsistency.MeanStd)} (no interval: a spread, reported as a description, not an estimate)"));
        return list;
    }

    private static string Supported(Scored s) =>
        s.Verdict == Scored.AtUniform ? "not a hub: at uniform expectation"
        : $"{s.Verdict} (×{F(s.Ratio!.Value, "0.00")})";

    private static string FlowVerdict(Scored s) =>
        s.Verdict == "above uniform" ? $"flow above uniform (×{F(s.Ratio!.Value, "0.00")}): the claim does not hold"
        : $"{s.Verdict}: consistent with the claim";
}
