using CodiLab.Analysis;
using CodiLab.Reports;
using SkiaSharp;
using Xunit;

namespace CodiLab.Tests.Reports;

/// <summary>The Phase 3 report and figures from a hand-built summary (no model, no runs).</summary>
public sealed class Phase3ReportTests
{
    private static ConditionStats Stats(string name, string family, double d, double lp, string? controlOf = null, int? k = null) =>
        new(name, family, family == "edges" ? ConditionKind.EdgeBlock : ConditionKind.HeadAblation, controlOf, k, 10, 5, 1,
            Phase3Statistics.Wilson(5, 10), new Interval(d, d - 0.1, d + 0.1), 1, 2, 7, 0.5, 0.6, 0.3, new Interval(lp, lp - 0.5, lp + 0.5));

    private static Phase3ReportInput Input(bool atChance, params string[] harnessErrors)
    {
        var conditions = new[]
        {
            Stats("top1-seed_composite", "top_heads", -0.2, -1, k: 1), Stats("top1-seed_composite-random1", "top_heads", 0, 0, "top1-seed_composite", 1),
            Stats("edge-z1", "edges", -0.3, -2), Stats("edge-z1-random1", "edges", 0, 0, "edge-z1"),
            Stats("head-L0H1", "head_scan", -0.1, -0.5), Stats("head-L1H0", "head_scan", 0, -0.1), Stats("head-L1H1", "head_scan", 0.1, 0.2),
            Stats("patch-L0-z1", "patching", -0.2, -1), Stats("patch-L1-z6", "patching", 0, 0),
        };
        var baseline = new BaselineStats(10, atChance ? 0 : 6, 0, Phase3Statistics.Wilson(atChance ? 0 : 6, 10), -2.5, 0.01, atChance ? 1 : 1e-9,
            atChance);
        var summary = new Phase3Summary("tiny", 10, "10 synthetic test problems", 16, "seed_composite", 200, 42,
            atChance ? "gold_logprob" : "accuracy", baseline, conditions,
            [new DosePoint(1, "top1-seed_composite", conditions[0].DeltaAccuracy, conditions[0].DeltaGoldLogProb, conditions[1].DeltaAccuracy,
                conditions[1].DeltaGoldLogProb)],
            [new HeadEffect(0, 1, 0.9, -0.1, -0.5), new HeadEffect(1, 0, 0.5, 0, -0.1), new HeadEffect(1, 1, 0.1, 0.1, 0.2)],
            new Interval(-1, -1, -1), new Interval(-1, -1, -0.5),
            [new PatchEffect(0, 1, -0.2, -1, 0.4), new PatchEffect(1, 6, 0, 0, 0)], harnessErrors,
            atChance ? ["The baseline (0/10) is not above the measured chance rate: accuracy carries no signal here"] : [],
            Phase3Claims.Build(baseline, conditions));
        var plan = new Phase3ConditionsFile(2, 4, 6, "seed_composite", [], [], [],
            [.. conditions.Select(c => new Phase3Condition(c.Name, c.Family, c.Kind, $"does {c.Name} in words", [], []))]);
        return new Phase3ReportInput("tiny-llama", summary, plan, "abc123", "def456");
    }

    [Fact]
    public void The_report_states_the_baseline_semantics_intervals_and_claims()
    {
        var md = Phase3Report.Render(Input(atChance: false));

        Assert.Contains("**Baseline** (measured in this run): 6/10 correct = 60.0% [31.3%, 83.2%]", md, StringComparison.Ordinal);
        Assert.Contains("| `edge-z1` | does edge-z1 in words | 50.0% [23.7%, 76.3%] | −30.0% [−40.0%, −20.0%] | 1 / 2 / 7 | 0.5 | 0.6 |", md,
            StringComparison.Ordinal);
        Assert.Contains("## Seed claim → causal test → result", md, StringComparison.Ordinal);
        Assert.Contains("working-memory hub", md, StringComparison.Ordinal);
        Assert.Contains("Effects are read from **accuracy**", md, StringComparison.Ordinal);
        Assert.Contains("Δ accuracy -1.00 [-1.00, -1.00]", md.Replace("ρ (metric vs effect, bootstrap 95% over heads): ", "", StringComparison.Ordinal),
            StringComparison.Ordinal);
        Assert.DoesNotContain("Harness errors", md, StringComparison.Ordinal);
    }

    [Fact]
    public void Harness_errors_come_first_and_chance_is_said_plainly()
    {
        var md = Phase3Report.Render(Input(atChance: true, "every condition scores 0% while the baseline scores 6/10"));

        Assert.True(md.IndexOf("Harness errors", StringComparison.Ordinal) < md.IndexOf("## Setup", StringComparison.Ordinal));
        Assert.Contains("the gold log-probability (the baseline is at chance)", md, StringComparison.Ordinal);
        Assert.Contains("accuracy carries no signal", md, StringComparison.Ordinal);
    }

    [Fact]
    public void Figures_of_families_not_run_still_render()
    {
        var summary = Input(atChance: true).Summary with { HeadEffects = [], Patching = [], DoseResponse = [] };

        foreach (var (file, png) in Phase3Figures.Render("tiny-llama", summary, layers: 2, heads: 4, latents: 6))
        {
            using var bitmap = SKBitmap.Decode(png);
            Assert.True(bitmap is { Width: > 400 }, file);
        }
    }

    [Fact]
    public void Every_figure_renders_as_a_png()
    {
        var figures = Phase3Figures.Render("tiny-llama", Input(atChance: false).Summary, layers: 2, heads: 4, latents: 6);

        Assert.Equal(Phase3Figures.Files, figures.Select(f => f.File));
        foreach (var (file, png) in figures)
        {
            using var bitmap = SKBitmap.Decode(png);
            Assert.True(bitmap is { Width: > 400, Height: > 300 }, file);
        }
        var html = Phase3Report.RenderHtml(Phase3Report.Render(Input(false)), "tiny-llama", f => figures.First(x => x.File == f).Png);
        Assert.Contains("data:image/png;base64,", html, StringComparison.Ordinal);
    }
}
