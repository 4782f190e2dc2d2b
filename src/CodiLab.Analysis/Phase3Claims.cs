using System.Globalization;

namespace CodiLab.Analysis;

/// <summary>
/// The "seed claim → causal test → result" table. Each verdict reads one metric (accuracy with its q-value, or — when the
/// baseline is at chance — the gold log-probability) and compares the condition with its matched random control: an effect
/// counts only when the condition's 95% interval lies below zero and below its control's interval.
/// </summary>
public static class Phase3Claims
{
    /// <summary>The claim rows for a summarised sweep.</summary>
    public static List<ClaimRow> Build(BaselineStats baseline, IReadOnlyList<ConditionStats> stats)
    {
        var at = baseline.AtChance;
        return
        [
            EdgeClaim(stats, at, "z1 (the seed's 'position 0') is a working-memory hub that later thoughts read",
                "edge-z1", hubLike: true),
            EdgeClaim(stats, at, "the attention on P0 is a sink (it carries no information the answer needs)", "edge-p0", hubLike: false),
            EdgeClaim(stats, at, "there is no sequential flow (z_a does not need z_(a−1))", "edge-seq", hubLike: false),
            EdgeClaim(stats, at, "there are no skip connections (z_a does not need z_(a−k), k ≥ 2)", "edge-skip", hubLike: false),
            TopHeads(stats, at),
        ];
    }

    /// <summary>How a condition's effect reads: "reduces", "no detectable effect" or "increases", on the chosen metric.</summary>
    public static string Effect(ConditionStats s, bool atChance)
    {
        var d = Metric(s, atChance);
        if (double.IsNaN(d.Low) || double.IsNaN(d.High)) return "not measurable";
        var significant = atChance || s.Q < Phase3Analysis.Alpha;
        if (d.High < 0 && significant) return "reduces";
        if (d.Low > 0 && significant) return "increases";
        return "no detectable effect";
    }

    /// <summary>True when the condition's interval lies entirely below its control's.</summary>
    public static bool BeyondControl(ConditionStats s, ConditionStats? control, bool atChance) =>
        control is not null && Metric(s, atChance).High < Metric(control, atChance).Low;

    private static Interval Metric(ConditionStats s, bool atChance) => atChance ? s.DeltaGoldLogProb : s.DeltaAccuracy;

    private static ClaimRow EdgeClaim(IReadOnlyList<ConditionStats> stats, bool atChance, string claim, string name, bool hubLike)
    {
        var s = stats.FirstOrDefault(x => x.Name == name);
        var test = $"block {name} in every layer and head at the latent steps, against {name}-random1 (as many random latent-step cells)";
        if (s is null) return new ClaimRow(claim, test, "the edges family was not run", "not tested");
        var control = stats.FirstOrDefault(x => x.ControlOf == name);
        var effect = Effect(s, atChance);
        var beyond = BeyondControl(s, control, atChance);
        var result = $"{Describe(s, atChance)}; control {(control is null ? "none" : Describe(control, atChance))}";
        string verdict;
        if (effect == "not measurable") verdict = "inconclusive";
        else if (hubLike) verdict = effect == "reduces" && beyond ? "supported" : effect == "reduces" ? "inconclusive (not beyond its control)"
            : "not supported";
        else verdict = effect == "reduces" && beyond ? "refuted" : effect == "reduces" ? "inconclusive (not beyond its control)"
            : "consistent (no effect detected at this sample size)";
        return new ClaimRow(claim, test, result, verdict);
    }

    private static ClaimRow TopHeads(IReadOnlyList<ConditionStats> stats, bool atChance)
    {
        const string Claim = "the top heads (by the Phase 2 ranking) matter for the answer";
        var tops = stats.Where(s => s.Family == "top_heads" && s.ControlOf is null).OrderBy(s => s.K).ToList();
        var test = "ablate the top-k heads for each k, against as many random heads with the same count per layer";
        if (tops.Count == 0) return new ClaimRow(Claim, test, "the top_heads family was not run", "not tested");
        var rows = tops.Select(s => (s, control: stats.FirstOrDefault(c => c.ControlOf == s.Name))).ToList();
        var result = string.Join("; ", rows.Select(r =>
            $"k={r.s.K}: {Describe(r.s, atChance)} vs {(r.control is null ? "no control" : Describe(r.control, atChance))}"));
        var beyond = rows.Where(r => Effect(r.s, atChance) == "reduces" && BeyondControl(r.s, r.control, atChance)).Select(r => r.s.K).ToList();
        var verdict = beyond.Count > 0 ? $"supported for k = {string.Join(", ", beyond)}"
            : rows.Any(r => Effect(r.s, atChance) == "reduces") ? "inconclusive (not beyond random heads)" : "not supported";
        return new ClaimRow(Claim, test, result, verdict);
    }

    /// <summary>"Δacc −0.12 [−0.20, −0.05], q 0.003" or "Δlogp −1.3 [−1.9, −0.8]".</summary>
    public static string Describe(ConditionStats s, bool atChance)
    {
        var d = Metric(s, atChance);
        var inv = CultureInfo.InvariantCulture;
        return atChance
            ? string.Format(inv, "Δ log-prob {0:0.###} [{1:0.###}, {2:0.###}]", d.Value, d.Low, d.High)
            : string.Format(inv, "Δ accuracy {0:+0.0%;−0.0%;0.0%} [{1:+0.0%;−0.0%;0.0%}, {2:+0.0%;−0.0%;0.0%}], q {3:0.###}",
                d.Value, d.Low, d.High, s.Q);
    }
}
