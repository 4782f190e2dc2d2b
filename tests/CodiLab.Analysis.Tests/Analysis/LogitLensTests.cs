using System.Text.Json;
using CodiLab.Analysis;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>The GSM8K annotation parser and the logit-lens agreement with gold intermediate results.</summary>
public sealed class LogitLensTests
{
    [Theory]
    [InlineData("24.00", "24")]
    [InlineData("24.50", "24.5")]
    [InlineData(".5", "0.5")]
    [InlineData(" 1,200", "1200")]
    [InlineData("$30", "30")]
    [InlineData("-0", "0")]
    [InlineData("-7", "-7")]
    [InlineData("72.", "72")]
    [InlineData("\u258148", "48")]
    public void Numbers_are_normalised(string text, string expected) => Assert.Equal(expected, GoldSolution.Normalize(text));

    [Theory]
    [InlineData(" clips")]
    [InlineData("")]
    [InlineData("+")]
    [InlineData("5th")]
    [InlineData(".")]
    public void Non_numbers_normalise_to_null(string text) => Assert.Null(GoldSolution.Normalize(text));

    [Fact]
    public void A_constructed_solution_parses_into_steps_operands_and_the_final_answer()
    {
        var g = GoldSolution.Parse("She has 3*4=<<3*4=12>>12 eggs, then 12+0.5=<<12+.5=12.5>>12.5 and <<12.5/x=oops>>.\n#### 1,250");
        Assert.Equal(["12", "12.5"], g.Results);
        Assert.Equal(["3", "4"], g.Steps[0].Operands);
        Assert.Equal("12+.5", g.Steps[1].Expression);
        Assert.Equal(new HashSet<string> { "3", "4", "12", "0.5" }, g.Operands);
        Assert.Equal("1250", g.Final);
        Assert.Empty(GoldSolution.Parse("no annotations here").Steps);
        Assert.Null(GoldSolution.Parse("no final line").Final);
    }

    [SharedFact]
    public void Real_GSM8K_solutions_parse_and_the_last_step_is_usually_the_final_answer()
    {
        var lines = File.ReadLines(Path.Combine(TestPaths.SharedData, "gsm8k", "train.jsonl")).Take(200).ToList();
        var first = GoldSolution.Parse(Answer(lines[0]));
        Assert.Equal(["24", "72"], first.Results); // Natalia: 48/2 = 24, 48 + 24 = 72
        Assert.Equal(["48", "2"], first.Steps[0].Operands);
        Assert.Equal("72", first.Final);
        var second = GoldSolution.Parse(Answer(lines[1]));
        Assert.Equal(["0.2", "10"], second.Results); // Weng: 12/60 = 0.2, 0.2*50 = 10
        var parsed = lines.Select(l => GoldSolution.Parse(Answer(l))).ToList();
        Assert.All(parsed, g => Assert.NotNull(g.Final));
        Assert.True(parsed.Count(g => g.Steps.Count > 0) >= 190, "nearly every GSM8K solution carries annotations");
        Assert.True(parsed.Count(g => g.Steps.Count > 0 && g.Results[^1] == g.Final) >= 150);
    }

    private static string Answer(string line) => JsonDocument.Parse(line).RootElement.GetProperty("answer").GetString()!;

    private static LensProblem Problem(int i, string solution, params string[][] texts) =>
        new(i, $"train_{i}", true, [.. texts.Select(t => (IReadOnlyList<int>)[.. t.Select((_, j) => j)])],
            [.. texts.Select(t => (IReadOnlyList<string>)t)], solution);

    [Fact]
    public void Agreement_counts_top_1_and_top_k_hits_per_query_with_a_chance_rate_from_other_problems()
    {
        // Queries BOT, z1, z2; k = 2. Problem 0 (steps 6, 10; final 10) hits step 1 at z1 top-1 and the final at z2 only in top-2.
        // Problem 1 (steps 5, 8; final 8) hits nothing of its own, but its z1 token "6" is problem 0's step 1.
        var records = new LensRecords(2, ["BOT", "z1", "z2"],
        [
            Problem(0, "2*3=<<2*3=6>>6, 6+4=<<6+4=10>>10\n#### 10", [" the", " a"], [" 6", " 7"], [" so", "10"]),
            Problem(1, "1+4=<<1+4=5>>5, 5+3=<<5+3=8>>8\n#### 8", [" x", " y"], [" 6", " 9"], [" and", " 2"]),
            new LensProblem(2, "train_2", false, [], [], "#### 3"),
        ]);
        var s = LogitLensSummary.Build(records);
        Assert.Equal(2, s.Problems);
        Assert.Equal(2, s.ProblemsWithAnnotations);
        Assert.DoesNotContain(s.Positions[0].Matches, m => m.Target == LogitLensSummary.Word(LensTarget.StepResult));
        var z1 = s.Positions[1].Matches.ToDictionary(m => m.Target);
        var step = z1[LogitLensSummary.Word(LensTarget.StepResult)];
        Assert.Equal(0.5, step.Top1.Value, 12);
        Assert.Equal(0.5, step.Top1Chance, 12); // problem 1's "6" hits problem 0's step 1; problem 0's "6" misses problem 1's 5
        Assert.Equal(1.0, s.Positions[1].Top1IsNumber.Value, 12);
        var z2 = s.Positions[2].Matches.ToDictionary(m => m.Target);
        Assert.Equal(0.0, z2[LogitLensSummary.Word(LensTarget.Final)].Top1.Value, 12);
        Assert.Equal(0.5, z2[LogitLensSummary.Word(LensTarget.Final)].TopK.Value, 12);
        // Operands: neither problem's z2 tokens are its own operands, but problem 1's "2" is an operand of problem 0.
        var operand = z2[LogitLensSummary.Word(LensTarget.Operand)];
        Assert.Equal(0.0, operand.TopK.Value, 12);
        Assert.Equal(0.5, operand.TopKChance, 12);
        Assert.Equal(0.0, operand.Top1Chance, 12);
    }
}

/// <summary>The new summaries survive JSON with NaN where a value is undefined.</summary>
public sealed class QuestionAndLensJsonTests
{
    [Fact]
    public void NaN_chance_rates_and_layer_shares_round_trip_through_json()
    {
        var match = new LensMatch("final answer", 1, new Interval(1, 1, 1), new Interval(1, 1, 1), double.NaN, double.NaN);
        var back = System.Text.Json.JsonSerializer.Deserialize<LensMatch>(System.Text.Json.JsonSerializer.Serialize(match))!;
        Assert.True(double.IsNaN(back.Top1Chance));
        var layer = new QuestionKindLayer(0, double.NaN, 0.5, new Dictionary<string, double> { ["number"] = double.NaN });
        var text = System.Text.Json.JsonSerializer.Serialize(layer);
        Assert.True(double.IsNaN(System.Text.Json.JsonSerializer.Deserialize<QuestionKindLayer>(text)!.Shares["number"]));
    }
}
