using CodiLab.Analysis;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>The seed's published numbers against a run: equal when this run's value rounds to the printed text.</summary>
public sealed class SeedParityTests
{
    private static SeedSummary Summary(double hub0) => new("m",
        new SeedHubAnalysis(0, hub0, 1.0 / 6, hub0 * 6, false, [hub0, 0.1367, 0.0768, 0.0569, 0.0391, 0]),
        new SeedSequentialFlow(false, 0.038, [0.0512, 0.0441, 0.0320, 0.0235, 0.0391], 0.0391),
        new SeedSkipConnections(false, 0.0292, [0.0333, 0.0308, 0.0234]),
        new SeedAnswers(0, false, false, false));

    private static SeedStats Stats() => new("m", 100, 16, 32, new SeedConsistency(0.01134f, 0.35f, 0f, true),
        [new SeedTopHead(0, 9, 0.8042f, 0.123f, 0.01f)], [], new SeedOverallStats(0, 0, 0));

    [Fact]
    public void A_value_matches_when_it_rounds_to_the_printed_digits()
    {
        var rows = SeedParity.Phase1("llama", Summary(0.19724), Stats()).ToDictionary(r => r.Quantity);
        Assert.True(rows["hub[0]"].Match);
        Assert.True(rows["top head L0H9 max"].Match);       // 0.8042 prints as 0.804
        Assert.True(rows["consistency mean std"].Match);
        Assert.True(rows["hub ratio"].Match);                // 6 × 0.19724 = 1.1834 prints as 1.18
        Assert.Null(rows["top head L4H26 max"].Reproduced); // not among this run's top heads: nothing to compare
        Assert.Null(rows["top head L4H26 max"].Match);
        Assert.False(SeedParity.Phase1("llama", Summary(0.1976), Stats()).First(r => r.Quantity == "hub[0]").Match);
    }

    [Fact]
    public void Values_the_seed_only_drew_are_listed_but_not_compared()
    {
        var rows = SeedParity.Phase1("gpt2", Summary(0.178), Stats()).ToDictionary(r => r.Quantity);
        Assert.Equal("≈0.057", rows["seq[1]"].SeedReported);
        Assert.Null(rows["seq[1]"].Match);
        Assert.Null(rows["avg skip"].Match); // "< 0.04"
        Assert.Empty(SeedParity.Phase1("mistral", Summary(0.1), Stats()));
    }
}
