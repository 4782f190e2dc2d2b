using System.Globalization;
using System.Text;
using CodiLab.Analysis;
using static CodiLab.Reports.ReportFormat;

namespace CodiLab.Reports;

/// <summary>What the Phase 3 report prints besides the summary.</summary>
/// <param name="Name">The experiment.</param>
/// <param name="Summary">The Phase 3 summary.</param>
/// <param name="Plan">The resolved sweep (each condition's semantics in words).</param>
/// <param name="RunKey">Cache key of the run stage.</param>
/// <param name="FiguresKey">Cache key of the figures stage.</param>
public sealed record Phase3ReportInput(string Name, Phase3Summary Summary, Phase3ConditionsFile Plan, string RunKey, string FiguresKey);

/// <summary>
/// The Phase 3 report: harness errors first, the loop and the measured baseline, the seed-claim table, every condition's
/// semantics in words and its numbers with intervals and p/q-values, the dose–response, the head scan's Spearman, figures.
/// </summary>
public static class Phase3Report
{
    /// <summary>Report file.</summary>
    public const string Markdown = "phase3_report.md";

    /// <summary>HTML copy (figures embedded).</summary>
    public const string HtmlFile = "phase3_report.html";

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The report as Markdown.</summary>
    public static string Render(Phase3ReportInput input)
    {
        var (s, md) = (input.Summary, new StringBuilder());
        void Line(string t = "") => md.Append(t).Append('\n');
        Line($"# Phase 3 report — causal interventions — {input.Name}");
        Line();
        Line($"Model {s.Model}. Cache keys: run `{input.RunKey}`, figures `{input.FiguresKey}`.");
        Line();
        if (s.HarnessErrors.Count > 0)
        {
            Line("## ⚠ Harness errors (not findings)");
            Line();
            foreach (var e in s.HarnessErrors) Line($"- {e}");
            Line();
        }
        Setup(s, Line);
        Claims(s, Line);
        Conditions(input, Line);
        Curves(s, Line);
        Line("## Figures");
        Line();
        foreach (var f in Phase3Figures.Files) Line($"![{Path.GetFileNameWithoutExtension(f)}]({f})");
        Line();
        return md.ToString();
    }

    /// <summary>The HTML copy, figures embedded.</summary>
    public static string RenderHtml(string markdown, string name, Func<string, byte[]> figure) =>
        Html(markdown, "Phase 3 report — ", name, figure);

    private static void Setup(Phase3Summary s, Action<string> line)
    {
        var b = s.Baseline;
        line("## Setup and the measured baseline");
        line("");
        line($"- Problems: {s.ProblemSet}; the same ids, in the same order, for the baseline and every condition.");
        line("- Loop: the official CODI inference — question, BOT, the model's continuous thoughts (six for the released checkpoints), EOT, then greedy "
            + "decoding over real token ids, stopping on any EOS, at most " + s.MaxNewTokens.ToString(Inv) + " tokens. Answer: the last number of the "
            + "decoded text, commas removed; gold: the number after `####`. A loop that fails is counted apart from a wrong answer.");
        line("- Continuous metric: the teacher-forced log-probability of the gold answer in the training format "
            + "(`The answer is: {gold}` + EOS) after EOT, under the same intervention; and the share of answers changed.");
        line($"- Statistics: Wilson 95% intervals; paired bootstrap 95% intervals ({s.Bootstrap} resamples, seed {s.Seed}); "
            + "exact McNemar p on fixed vs broken problems; Benjamini–Hochberg q across the whole sweep.");
        line($"- **Baseline** (measured in this run): {b.Correct}/{b.N} correct = {Pct(b.Accuracy)}, {b.Failed} failed, "
            + $"mean gold log-prob {F(b.MeanGoldLogProb, "0.###")}; measured chance rate {F(b.ChanceRate, "0.####")} "
            + $"(p = {F(b.ChanceP, "0.###")} that the baseline is no better).");
        line($"- Effects are read from **{(s.ReadFrom == "accuracy" ? "accuracy" : "the gold log-probability (the baseline is at chance)")}**.");
        foreach (var n in s.Notes) line($"- {n}");
        line("");
    }

    private static void Claims(Phase3Summary s, Action<string> line)
    {
        line("## Seed claim → causal test → result");
        line("");
        line("An effect counts when its 95% interval lies below zero (and q < 0.05 for accuracy) and below its matched random control's.");
        line("");
        line("| seed claim | causal test | result | verdict |");
        line("|---|---|---|---|");
        foreach (var c in s.Claims) line($"| {c.Claim} | {c.Test} | {c.Result} | **{c.Verdict}** |");
        line("");
    }

    private static void Conditions(Phase3ReportInput input, Action<string> line)
    {
        var s = input.Summary;
        var stats = s.Conditions.ToDictionary(c => c.Name, StringComparer.Ordinal);
        foreach (var family in input.Plan.Conditions.Select(c => c.Family).Distinct())
        {
            line($"## Family `{family}`");
            line("");
            line("| condition | what it does | accuracy [95%] | Δ accuracy [95%] | fixed / broken / same | p | q | changed | "
                + "Δ gold log-prob [95%] | failed |");
            line("|---|---|---|---|---|---|---|---|---|---|");
            foreach (var c in input.Plan.Conditions.Where(c => c.Family == family))
            {
                var x = stats[c.Name];
                line($"| `{c.Name}` | {c.Semantics} | {Pct(x.Accuracy)} | {Signed(x.DeltaAccuracy, true)} | "
                    + $"{x.Fixed} / {x.Broken} / {x.Unchanged} | {F(x.McNemarP, "0.###")} | {F(x.Q, "0.###")} | "
                    + $"{F(x.ChangedShare, "0.0%")} | {Signed(x.DeltaGoldLogProb, false)} | {x.Failed} |");
            }
            line("");
        }
    }

    private static void Curves(Phase3Summary s, Action<string> line)
    {
        if (s.DoseResponse.Count > 0)
        {
            line($"## Dose–response: top-k heads by `{s.HeadMetric}` against random heads");
            line("");
            line("| k | Δ accuracy | control Δ accuracy | Δ gold log-prob | control Δ gold log-prob |");
            line("|---|---|---|---|---|");
            foreach (var d in s.DoseResponse)
                line($"| {d.K} | {Signed(d.DeltaAccuracy, true)} | {Signed(d.ControlDeltaAccuracy, true)} | {Signed(d.DeltaGoldLogProb, false)} | "
                    + $"{Signed(d.ControlDeltaGoldLogProb, false)} |");
            line("");
        }
        if (s.HeadEffects.Count > 0)
        {
            line($"## Head scan: does the Phase 2 metric `{s.HeadMetric}` predict the ablation effect?");
            line("");
            line($"{s.HeadEffects.Count} single heads, spread over the ranking. Spearman ρ (metric vs effect, bootstrap 95% over heads): "
                + $"Δ accuracy {Rho(s.SpearmanAccuracy)}, Δ gold log-prob {Rho(s.SpearmanLogProb)}. A ρ near −1 means heads ranked higher "
                + "hurt more when ablated.");
            line("");
        }
        if (s.Patching.Count > 0)
        {
            line("## Residual patching (layer × latent position)");
            line("");
            line("Each cell writes the donor problem's residual stream at that layer's output and latent position; the figure "
                + "`phase3_patching.png` shows the Δ, the tables above every number.");
            line("");
        }
    }

    private static string Pct(Interval i) =>
        string.Create(Inv, $"{F(i.Value, "0.0%")} [{F(i.Low, "0.0%")}, {F(i.High, "0.0%")}]");

    private static string Signed(Interval? i, bool percent)
    {
        if (i is null) return "–";
        var f = percent ? "+0.0%;−0.0%;0.0%" : "+0.###;−0.###;0";
        return $"{F(i.Value, f)} [{F(i.Low, f)}, {F(i.High, f)}]";
    }

    private static string Rho(Interval? i) =>
        i is null ? "– (fewer than 3 heads)" : string.Create(Inv, $"{F(i.Value, "0.00")} [{F(i.Low, "0.00")}, {F(i.High, "0.00")}]");
}
