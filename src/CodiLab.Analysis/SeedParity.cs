using System.Globalization;
using System.Text.Json.Serialization;

namespace CodiLab.Analysis;

/// <summary>
/// One published seed number against this run's: equal when this run's value, rounded as the seed printed it, is the same.
/// </summary>
public sealed record ParityRow(
    [property: JsonPropertyName("quantity")] string Quantity,
    [property: JsonPropertyName("seed_reported")] string SeedReported,
    [property: JsonPropertyName("reproduced")] double? Reproduced,
    [property: JsonPropertyName("match")] bool? Match);

/// <summary>
/// The seed experiment's published Phase 1 and Phase 2 numbers (facts of its reports), per architecture, and the
/// parity check against a run of the same experiment. Values the seed only drew (read off a figure) are listed but
/// not compared.
/// </summary>
public static class SeedParity
{
    // Quantity → printed text; "≈" marks a value read off a figure (not compared).
    private static readonly Dictionary<string, (string Quantity, string Printed)[]> Phase1Published = new()
    {
        ["llama"] =
        [
            ("hub[0]", "0.1972"), ("hub[1]", "0.1367"), ("hub[2]", "0.0768"), ("hub[3]", "0.0569"), ("hub[4]", "0.0391"), ("hub[5]", "0"),
            ("hub position", "0"), ("hub ratio", "1.18"), ("seq[1]", "0.0512"), ("seq[2]", "0.0441"), ("seq[3]", "0.0320"),
            ("seq[4]", "0.0235"), ("seq[5]", "0.0391"), ("avg sequential", "0.0380"), ("skip[0]", "0.0333"), ("skip[1]", "0.0308"),
            ("skip[2]", "0.0234"), ("avg skip", "0.0292"), ("consistency mean std", "0.0113"), ("top head L0H9 max", "0.804"),
            ("top head L4H26 max", "0.781"), ("top head L6H2 max", "0.756"), ("top head L9H12 max", "0.744"),
            ("top head L6H15 max", "0.682"),
        ],
        ["gpt2"] =
        [
            ("hub[0]", "0.178"), ("hub[1]", "0.272"), ("hub[2]", "0.127"), ("hub[3]", "0.161"), ("hub[4]", "0.050"), ("hub[5]", "0"),
            ("hub position", "1"), ("hub ratio", "1.63"), ("seq[1]", "≈0.057"), ("seq[2]", "≈0.061"), ("seq[3]", "≈0.056"),
            ("seq[4]", "≈0.050"), ("seq[5]", "≈0.050"), ("avg sequential", "0.055"), ("skip[0]", "≈0.018"), ("skip[1]", "≈0.050"),
            ("skip[2]", "≈0.031"), ("avg skip", "< 0.04"), ("consistency mean std", "0.0161"),
        ],
    };

    /// <summary>Published Phase 2 numbers: top-3 heads (composite, hub, skip, max) and score means/maxima.</summary>
    private static readonly Dictionary<string, (string Quantity, string Printed)[]> Phase2Published = new()
    {
        ["llama"] =
        [
            ("#1 head", "L4H5"), ("#1 composite", "0.528"), ("#1 hub", "0.300"), ("#1 skip", "0.162"), ("#1 max", "0.464"),
            ("#2 head", "L5H30"), ("#2 composite", "0.449"), ("#2 hub", "0.246"), ("#2 skip", "0.153"), ("#2 max", "0.388"),
            ("#3 head", "L5H28"), ("#3 composite", "0.434"), ("#3 hub", "0.196"), ("#3 skip", "0.218"), ("#3 max", "0.524"),
            ("hub mean", "0.015"), ("hub max", "0.300"), ("skip mean", "0.029"), ("skip max", "0.252"),
        ],
        ["gpt2"] =
        [
            ("#1 head", "L0H3"), ("#1 composite", "0.600"), ("#1 hub", "0.266"), ("#1 skip", "0.153"), ("#1 max", "1.000"),
            ("#2 head", "L5H3"), ("#2 composite", "0.425"), ("#2 hub", "0.213"), ("#2 skip", "0.080"), ("#2 max", "0.906"),
            ("#3 head", "L6H0"), ("#3 composite", "0.417"), ("#3 hub", "0.197"), ("#3 skip", "0.093"), ("#3 max", "0.875"),
            ("hub mean", "0.028"), ("skip mean", "0.033"),
        ],
    };

    /// <summary>Phase 1 parity rows, or none when the architecture has no published run.</summary>
    public static List<ParityRow> Phase1(string arch, SeedSummary s, SeedStats stats)
    {
        if (!Phase1Published.TryGetValue(arch, out var published)) return [];
        var ours = new Dictionary<string, double>
        {
            ["hub position"] = s.Hub.HubPosition, ["hub ratio"] = s.Hub.HubRatio, ["avg sequential"] = s.Sequential.AvgSequential,
            ["avg skip"] = s.Skip.AvgSkip, ["consistency mean std"] = stats.Consistency.MeanStd,
        };
        for (int p = 0; p < s.Hub.AllHubScores.Count; p++) ours[$"hub[{p}]"] = s.Hub.AllHubScores[p];
        for (int i = 0; i < s.Sequential.Scores.Count; i++) ours[$"seq[{i + 1}]"] = s.Sequential.Scores[i];
        for (int t = 0; t < s.Skip.Scores.Count; t++) ours[$"skip[{t}]"] = s.Skip.Scores[t];
        foreach (var h in stats.TopHeads) ours[$"top head L{h.Layer}H{h.Head} max"] = h.MaxAttention;
        return [.. published.Select(x => Row(x.Quantity, x.Printed, ours.TryGetValue(x.Quantity, out var v) ? v : null))];
    }

    /// <summary>Phase 2 parity rows (top 3 by composite and score statistics), or none.</summary>
    public static List<ParityRow> Phase2(string arch, IReadOnlyList<SeedHeadRow> top, IReadOnlyDictionary<string, MeanMax> scores)
    {
        if (!Phase2Published.TryGetValue(arch, out var published)) return [];
        var ours = new Dictionary<string, double>();
        var names = new Dictionary<string, string>();
        for (int i = 0; i < Math.Min(3, top.Count); i++)
        {
            var h = top[i];
            names[$"#{i + 1} head"] = $"L{h.Layer}H{h.Head}";
            var rank = $"#{i + 1}";
            (ours[$"{rank} composite"], ours[$"{rank} hub"]) = (h.Composite, h.Hub);
            (ours[$"{rank} skip"], ours[$"{rank} max"]) = (h.Skip, h.Max);
        }
        foreach (var (name, mm) in scores) (ours[$"{name} mean"], ours[$"{name} max"]) = (mm.Mean, mm.Max);
        return [.. published.Select(x => names.TryGetValue(x.Quantity, out var head)
            ? new ParityRow(x.Quantity + $" (this run: {head})", x.Printed, null, head == x.Printed)
            : Row(x.Quantity, x.Printed, ours.TryGetValue(x.Quantity, out var v) ? v : null))];
    }

    // Equal at printed precision: this run's value rounded to as many decimals as the seed printed.
    private static ParityRow Row(string quantity, string printed, double? ours)
    {
        if (ours is not { } v || printed.StartsWith('≈') || printed.StartsWith('<'))
            return new ParityRow(quantity, printed, ours, null);
        var decimals = printed.Contains('.') ? printed.Length - printed.IndexOf('.') - 1 : 0;
        var seed = double.Parse(printed, CultureInfo.InvariantCulture);
        return new ParityRow(quantity, printed, ours, Math.Round(v, decimals, MidpointRounding.AwayFromZero) == seed);
    }
}
