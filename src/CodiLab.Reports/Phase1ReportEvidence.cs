using CodiLab.Analysis;
using static CodiLab.Reports.ReportFormat;

namespace CodiLab.Reports;

/// <summary>The Phase 1 report's glossary, change list, claims and parity tables, and the baseline columns.</summary>
public static partial class Phase1Report
{
    private const string ScoredHeader = "per problem [95% CI] | uniform expectation | ratio [95% CI] | verdict |";
    private const string ScoredRule = "---|---|---|---|";
    private const string ScoredEmpty = "– | – | – | – |";

    // The measured mean with its interval, the uniform expectation, the ratio with its interval, the verdict.
    private static string ScoredCells(Scored s) =>
        $"{CI(s.Measured)} | {F(s.Uniform)} | {(s.Ratio is null ? "–" : CI(s.Ratio, "0.00"))} | {s.Verdict} |";

    /// <summary>What P0 is on an architecture.</summary>
    public static string P0Of(string arch) => arch == "gpt2"
        ? "the first question token (GPT-2 CODI prompts have no BOS)"
        : "BOS (`<|begin_of_text|>`), before the question";

    private static void Glossary(Phase1ReportInput input, Action<string> line)
    {
        void Line(string text = "") => line(text);
        var k = input.Info.Latents;
        Line("## Glossary");
        Line();
        Line("| term | meaning in this report and every file of this run |");
        Line("|---|---|");
        Line($"| P0 | the first prompt position: {P0Of(input.Run.Arch)} |");
        Line("| question | the prompt after P0 up to BOT (P1…); `question` and `question_mass` never include P0 |");
        Line("| BOT | the beginning-of-thought token that ends the prompt; the first query, never a seed column |");
        Line($"| z1..z{k} | the continuous thoughts, z_a fed at step a; queries and keys |");
        Line("| seed convention | the seed's 6×6 with its off-by-one: M[s, j] = A(z_s → z_(j+1)); row 0 and column 5 are empty, "
            + "[i, i−1] is z_i's self-attention |");
        Line("| latent view | labelled rows BOT, z1..zK over keys P0, question, BOT, z1..zK; not-visible cells are blank |");
        Line("| uniform expectation | the value if every query spread its attention evenly over the T keys it can see "
            + "(1/T each; T = prompt tokens + a for z_a), per problem from its real prompt length |");
        Line($"| at uniform expectation | the ratio's 95% interval contains 1, or the ratio is within ±{Scored.Band:0.00} of 1 |");
        Line("| structural | a cell that cannot be non-zero in the seed's layout (hatched in figures) |");
        Line("| SD | standard deviation across problems (spread, not an error) |");
        Line("| [95% CI] | percentile bootstrap interval over problems (the uncertainty of the mean) |");
        Line();
    }

    private static void Changes(Action<string> line)
    {
        line("## Changed from the previous version of this report");
        line("");
        line("- Sink rate: per problem, the % of heads with α > 0.3, averaged over problems (was: the fraction of heads whose "
            + "problem-averaged α exceeds 0.3).");
        line("- Hub among latents: the argmax is named over every key (P0, BOT, z1..zK) and over latents only, each with and "
            + "without self-attention (was: latents only, and \"without z1\").");
        line("- By-layer figures: layers ⌊i·L/4⌉ for i = 0..4, capped at L − 1, halves rounded up (16 layers: 0, 4, 8, 12, 15; "
            + "12 layers: 0, 3, 6, 9, 11); previously halves rounded to even gave 11 and 8.");
        line("- Phase 2 `question_mass` excludes P0 (now `p0_mass`), as `question` does here.");
        line("- New: uniform-causal expectations and ratios beside every score, 95% bootstrap intervals, the claims table and, "
            + "for the seed's own experiments, the parity table.");
        line("");
    }

    private static void ClaimsSection(Phase1ReportInput input, Action<string> line)
    {
        line("## The seed's claims against this run");
        line("");
        line("| seed claim | labelled test | value [95% CI] | verdict |");
        line("|---|---|---|---|");
        foreach (var c in input.Evidence.Claims)
            line($"| {c.Text} | {c.Test} | {(c.Value is null ? "–" : CI(c.Value, "0.000"))} | {c.Verdict} |");
        line("");
    }

    private static void ParitySection(Phase1ReportInput input, Action<string> line)
    {
        line("## Seed parity");
        line("");
        var rows = input.Run.SeedExperiment ? SeedParity.Phase1(input.Run.Arch, input.Seed, input.Stats) : [];
        if (rows.Count == 0)
        {
            line("This spec is not one of the seed's experiments (GSM8K train, 100 problems, seed 42, a real checkpoint), "
                + "so there are no published numbers to reproduce.");
            line("");
            return;
        }
        line("Match = this run's value, rounded as the seed printed it, equals the published one; "
            + "values the seed only drew are not compared.");
        line("");
        line("| quantity | seed reported | reproduced | match at printed precision |");
        line("|---|---|---|---|");
        foreach (var r in rows)
            line($"| {r.Quantity} | {r.SeedReported} | {F(r.Reproduced)} | {(r.Match is { } m ? B(m) : "not compared")} |");
        line("");
    }
}
