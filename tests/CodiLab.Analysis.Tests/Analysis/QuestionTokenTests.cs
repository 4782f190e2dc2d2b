using CodiLab.Analysis;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>Token kinds, the per-row kind masses and top keys, and the question-kind summary on arrays with known answers.</summary>
public sealed class QuestionTokenTests
{
    [Theory]
    [InlineData("48", TokenKind.Number)]
    [InlineData(" 1,200", TokenKind.Number)]
    [InlineData("3.5", TokenKind.Number)]
    [InlineData("\u25815", TokenKind.Number)]
    [InlineData(" +", TokenKind.Operator)]
    [InlineData("=", TokenKind.Operator)]
    [InlineData("×", TokenKind.Operator)]
    [InlineData("÷", TokenKind.Operator)]
    [InlineData(" */", TokenKind.Operator)]
    [InlineData(" clips", TokenKind.Other)]
    [InlineData("?", TokenKind.Other)]
    [InlineData(".", TokenKind.Other)]
    [InlineData(" ", TokenKind.Other)]
    [InlineData("$", TokenKind.Other)]
    [InlineData("5th", TokenKind.Other)]
    public void Tokens_are_classified_by_their_text(string text, TokenKind kind) => Assert.Equal(kind, TokenKinds.Classify(text));

    [Fact]
    public void Position_wins_over_text_for_P0_and_the_last_token()
    {
        var kinds = TokenKinds.OfPrompt(["12", " sold", " 48", " +", " 7"]);
        Assert.Equal([TokenKind.First, TokenKind.Other, TokenKind.Number, TokenKind.Operator, TokenKind.Last], kinds);
        Assert.All(TokenKinds.All, k => Assert.Equal(k, TokenKinds.Parse(k.Word())));
    }

    [Fact]
    public void Kind_mass_sums_the_row_over_prompt_keys_and_top_keys_leave_P0_out()
    {
        // Prompt P0, "Tom", "3", "+", "?" then BOT and z1: the row sums to 1 over all seven keys.
        TokenKind[] kinds = [TokenKind.First, TokenKind.Other, TokenKind.Number, TokenKind.Operator, TokenKind.Last];
        float[] row = [0.5f, 0.05f, 0.2f, 0.1f, 0.05f, 0.06f, 0.04f];
        var mass = QuestionTokens.KindMass(row, kinds);
        Assert.Equal([0.5, 0.2, 0.1, 0.05, 0.05], mass.Select(m => Math.Round(m, 6)));
        var top = QuestionTokens.TopKeys(row, q: 5, k: 3);
        Assert.Equal([(2, 0.2f), (3, 0.1f), (1, 0.05f)], top);
        Assert.Equal(4, QuestionTokens.TopKeys(row, q: 5, k: 8).Length);
    }

    [Fact]
    public void The_summary_reports_kind_shares_against_the_share_of_tokens()
    {
        // Two problems, 1 layer, 2 heads, queries BOT and z1. Prompt: P0 + 4 question tokens (2 numbers, 1 other, last).
        TokenKind[] kinds = [TokenKind.First, TokenKind.Number, TokenKind.Other, TokenKind.Number, TokenKind.Last];
        // Mass per (head, query) in kind order P0, number, operator, last, other: numbers get 0.3 of 0.5 question mass.
        float[] cell = [0.4f, 0.3f, 0f, 0.1f, 0.1f];
        var mass = Enumerable.Range(0, 2 * 2 * 2).SelectMany(_ => cell).ToArray();
        var s = QuestionKindSummary.Build(mass, layers: 1, heads: 2, ["BOT", "z1"], [kinds, kinds]);
        Assert.Equal(2, s.Problems);
        Assert.Equal(0.5, s.TokenShare["number"], 12);
        var z1 = s.Queries[1];
        Assert.Equal(0.4, z1.P0.Measured.Value, 6);
        Assert.Equal(1.0 / 7, z1.P0.Uniform, 12); // 5 prompt keys + BOT + z1
        Assert.Equal(0.5, z1.Question.Measured.Value, 6);
        Assert.Equal(4.0 / 6, s.Queries[0].Question.Uniform, 12); // BOT sees 5 prompt keys and itself
        var number = z1.Kinds.Single(k => k.Metric == "number");
        Assert.Equal(0.6, number.Measured.Value, 6);
        Assert.Equal(0.5, number.Uniform, 12);
        Assert.Equal(1.2, number.Ratio!.Value, 5);
        Assert.Equal(0.0, z1.Kinds.Single(k => k.Metric == "operator").Uniform);
        Assert.Equal(Scored.Structural, z1.Kinds.Single(k => k.Metric == "operator").Verdict);
        Assert.Equal(0.2, z1.ByLayer[0].Shares["last"], 6);
        Assert.Equal(0.4, z1.ByLayer[0].P0, 6); // head mean
    }

    [Fact]
    public void A_failed_problem_with_NaN_mass_is_left_out()
    {
        TokenKind[] kinds = [TokenKind.First, TokenKind.Number, TokenKind.Last];
        float[] ok = [0.2f, 0.6f, 0f, 0.2f, 0f];
        var mass = ok.Concat(Enumerable.Repeat(float.NaN, 5)).ToArray();
        var s = QuestionKindSummary.Build(mass, 1, 1, ["BOT"], [kinds, kinds]);
        Assert.Equal(1, s.Problems);
        Assert.Equal(0.75, s.Queries[0].Kinds.Single(k => k.Metric == "number").Measured.Value, 6);
    }

    [Fact]
    public void Strongest_keys_count_cells_by_kind_against_the_share_of_tokens_and_name_the_frequent_texts()
    {
        // One problem, 1 layer, 4 heads, one query: prompt P0, " 48", " apples", "?" → question kinds number, other, last.
        var tokens = new PromptTokenRecord(0, "id_0", [1, 2, 3, 4], ["<s>", " 48", " apples", "?"], ["P0", "number", "other", "last"]);
        // Top-2 keys per head: heads 0-2 read " 48" first, head 3 reads "?" first.
        float[] keys = [1, 2, 1, 3, 1, 2, 3, 1];
        var failed = new PromptTokenRecord(1, "id_1", [1, 2, 3], ["<s>", " 5", "?"], ["P0", "number", "last"]);
        float[] none = [-1, -1, -1, -1, -1, -1, -1, -1];
        var s = TopKeyKinds.Build([.. keys, .. none], 1, 4, 2, ["z1"], [tokens, failed]);
        var number = s[0].Kinds.Single(k => k.Metric == "number");
        Assert.Equal(0.75, number.Measured.Value, 12);
        Assert.Equal(1.0 / 3, number.Uniform, 12);
        Assert.Equal(0.25, s[0].Kinds.Single(k => k.Metric == "last").Measured.Value, 12);
        Assert.Equal([new TokenCount("48", "number", 0.75), new TokenCount("?", "last", 0.25)], s[0].Frequent);
    }
}
