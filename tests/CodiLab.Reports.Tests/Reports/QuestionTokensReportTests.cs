using CodiLab.Analysis;
using CodiLab.Reports;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Reports;

/// <summary>The question-token and logit-lens sections of the Phase 1 report, and the per-layer question-kind figure.</summary>
public sealed class QuestionTokensReportTests
{
    // Every query puts 0.2 on P0, 0.6 on numbers (a quarter of the question tokens) and 0.2 on "other" in every head.
    private static QuestionKindSummary Kinds(int layers, int heads, int problems, bool withOperator = false)
    {
        TokenKind[] kinds = [TokenKind.First, TokenKind.Number, withOperator ? TokenKind.Operator : TokenKind.Other, TokenKind.Other,
            TokenKind.Last];
        float[] cell = [0.2f, 0.6f, withOperator ? 0.1f : 0f, 0f, withOperator ? 0.1f : 0.2f];
        var queries = Conventions.LatentRows(SyntheticRun.K);
        var mass = Enumerable.Range(0, problems * layers * heads * queries.Length).SelectMany(_ => cell).ToArray();
        return QuestionKindSummary.Build(mass, layers, heads, queries, [.. Enumerable.Repeat<IReadOnlyList<TokenKind>>(kinds, problems)]);
    }

    private static LensRecords Lens() => new(2, ["BOT", "z1"],
    [
        new LensProblem(0, "train_0", true, [[1, 2], [3, 4]], [[" the", " |x"], [" 24", " 72"]], "48/2=<<48/2=24>>24\n#### 72"),
        new LensProblem(1, "train_1", true, [[1, 2], [3, 4]], [[" 5", " a"], [" 9", " 3"]], "<<2+3=5>>5 <<5+1=6>>6\n#### 6"),
    ]);

    [Fact]
    public void The_sections_appear_with_P0_apart_kind_shares_against_token_shares_and_decoded_lens_tokens()
    {
        var (_, report, _, _) = new SyntheticRun(2, 4).Build();
        var md = Phase1Report.Render(report with
        {
            QuestionKinds = Kinds(2, 4, 3) with
            {
                StrongestKey = [new TopKeyKinds("z1", [Scored.Of("number", "n", [0.5, 0.7], [0.25, 0.25])], [new TokenCount("48", "number", 0.6)])],
            },
            LogitLens = LogitLensSummary.Build(Lens()), LensRecords = Lens(),
        });
        Assert.Contains("## Question tokens: which kinds BOT and each latent read", md, StringComparison.Ordinal);
        Assert.Contains("| z3 | P0 (of the row) | 0.2000 [0.2000, 0.2000] |", md, StringComparison.Ordinal);
        // Numbers: 0.6 of 0.8 question mass = 0.75 against 1 token in 4 = 0.25: three times uniform.
        Assert.Contains("| z1 | number (of the question) | 0.7500 [0.7500, 0.7500] | 0.2500 | 3.00 [3.00, 3.00] | above uniform |",
            md, StringComparison.Ordinal);
        Assert.Contains("| z1 | operator (of the question) | 0.0000 [0.0000, 0.0000] | 0.0000 | – | structural", md, StringComparison.Ordinal);
        Assert.Contains($"![question token kinds by layer]({QuestionKindFigure.File})", md, StringComparison.Ordinal);
        Assert.Contains("| z1 | number | 0.6000 [", md, StringComparison.Ordinal);
        Assert.Contains("z1: `48` (number, 60.0%)", md, StringComparison.Ordinal);
        Assert.Contains("## Logit lens against the gold solution's intermediate results", md, StringComparison.Ordinal);
        Assert.Contains("| z1 | step k's result (z_k) | 2 | 0.50 [0.00, 1.00] |", md, StringComparison.Ordinal);
        Assert.Contains("| train_0 | 24 → 72 | the · \\|x | **24** · **72** |", md, StringComparison.Ordinal);
        Assert.True(md.IndexOf("## Question tokens", StringComparison.Ordinal) < md.IndexOf("## What the seed's indices meant", StringComparison.Ordinal));
    }

    [Fact]
    public void Without_the_new_artifacts_the_sections_are_left_out()
    {
        var (_, report, _, _) = new SyntheticRun(2, 4).Build();
        var md = Phase1Report.Render(report);
        Assert.DoesNotContain("## Question tokens", md, StringComparison.Ordinal);
        Assert.DoesNotContain("## Logit lens", md, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2, 4)]
    [InlineData(12, 12)]
    [InlineData(16, 32)]
    public void The_question_kind_figure_renders_four_panels_at_real_sizes(int layers, int heads)
    {
        var png = QuestionKindFigure.Render($"synthetic {layers}x{heads}", Kinds(layers, heads, 2, withOperator: true));
        PngAssert.PanelGrid(png, 4, 2, QuestionKindFigure.File);
        // Without operator tokens the operator panel has no ratio to draw and is left out.
        PngAssert.PanelGrid(QuestionKindFigure.Render("no operators", Kinds(layers, heads, 2)), 3, 2, QuestionKindFigure.File);
        if (Environment.GetEnvironmentVariable("CODILAB_FIGURE_DUMP") is { Length: > 0 } dump)
        {
            var path = Path.Combine(dump, $"{layers}x{heads}", QuestionKindFigure.File);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, png);
        }
    }
}
