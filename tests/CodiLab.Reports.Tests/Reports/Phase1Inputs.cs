using CodiLab.Analysis;
using CodiLab.Reports;
using CodiLab.Specs;

namespace CodiLab.Tests.Reports;

/// <summary>
/// Small hand-made Phase 1 artifacts (4 layers × 2 heads, 6 latents) for the report and figure tests. The numbers
/// are arbitrary but distinct, so a row printed from the wrong field or in the wrong order shows.
/// </summary>
internal static class Phase1Inputs
{
    public const int Layers = 4, Heads = 2, K = 6;

    public static readonly double[] HubScores = [0.4321, 0.2345, 0.1987, 0.1234, 0.0567, double.NaN];

    public static readonly SeedTopHead[] SeedTop =
    [
        new(2, 1, 0.9123f, 0.0456f, 0.0789f), new(0, 0, 0.8766f, 0.0432f, 0.0711f), new(3, 1, 0.8234f, 0.0401f, 0.0656f),
        new(1, 0, 0.7012f, 0.0388f, 0.0602f), new(3, 0, 0.6543f, 0.0351f, 0.0587f), new(0, 1, 0.5432f, 0.0333f, 0.0512f),
        new(2, 0, 0.4321f, 0.0301f, 0.0498f),
    ];

    public static readonly LatentHeadRow[] LatentTop =
    [
        new(1, 1, 0.61, 0.2, 0.1, 0.1, 0.5, 0.1, 0.55, 0.12, 0.2),
        new(3, 0, 0.52, 0.2, 0.1, 0.1, 0.5, 0.1, 0.45, 0.11, 0.2),
        new(0, 0, 0.43, 0.2, 0.1, 0.1, 0.5, 0.1, 0.35, 0.10, 0.2),
    ];

    // Seed mean [L, H, 6, 6]: only the strictly-lower cells of rows 1..5 are filled, as the seed convention holds.
    public static float[] SeedAvg() => [.. Enumerable.Range(0, Layers * Heads * 36).Select(c =>
    {
        var (i, j) = (c / 6 % 6, c % 6);
        return i >= 1 && j < i ? (float)((c * 7 % 11 + 1) / 12.0) : 0f;
    })];

    // Latent mean [L, H, K+1, K+3]: NaN where the query cannot see the key (z_b for b > a).
    public static float[] LatentAvg() => [.. Enumerable.Range(0, Layers * Heads * (K + 1) * (K + 3)).Select(c =>
    {
        var (row, col) = (c / (K + 3) % (K + 1), c % (K + 3));
        return col >= 3 && col - 2 > row ? float.NaN : (float)((c * 5 % 13 + 1) / 14.0);
    })];

    public static ExtractMetadata Info(Accuracy? accuracy = null)
    {
        ProblemRecord Problem(int i) => i == 2
            ? new(i, $"id_{i}", 20, false, "boom", 0, [])
            : new(i, $"id_{i}", 20, true, null, 24, [1, 2, 3, 4, 5, 6, 7]);
        var layouts = new ConventionLayouts(
            new SeedLayout("attention_patterns_raw.npy", "[N, L, H, 6, 6]", Conventions.SeedRowsReally, Conventions.SeedColumnsReally,
                "M[s, j]"),
            new LatentLayout("latent_attention_raw.npy", "[N, L, H, K+1, K+3]", Conventions.LatentRows(K), Conventions.LatentColumns(K),
                "A"));
        return new ExtractMetadata("tiny", null, 4, Layers, Heads, [.. Enumerable.Range(21, K)], "dataset.json",
            [.. Enumerable.Range(0, 4).Select(Problem)], K, accuracy is null ? 0 : 32, accuracy, "float32", "cpu", layouts);
    }

    // The report test keeps the NaN (printed as a dash); figures get the 0 a real run has in column 5.
    public static SeedSummary Seed(bool nanHub = true) => new("tiny",
        new SeedHubAnalysis(0, 0.4321, 1.0 / 6, 2.5926, true, nanHub ? HubScores : [.. HubScores.Select(v => double.IsNaN(v) ? 0 : v)]),
        new SeedSequentialFlow(false, 0.2222, [0.3111, 0.2468, 0.1357, 0.2013, 0.2161], 0.2161),
        new SeedSkipConnections(true, 0.1333, [0.1111, 0.1444, 0.1444]),
        new SeedAnswers(0, false, true, true));

    public static SeedStats Stats() => new("tiny", 4, Layers, Heads, new SeedConsistency(0.0512f, 0.2101f, 0f, true), SeedTop,
        [.. Enumerable.Range(0, 6).Select(p => new SeedPositionStat(p, HubScores[p], 0.1))], new SeedOverallStats(0.03f, 0.9123f, 0f));

    public static LatentSummary Latent()
    {
        string Z(int b) => $"z{b}";
        var hub = new Dictionary<string, LatentHub>
        {
            ["P0"] = new(0.6101, null, 14.2, null),
            ["BOT"] = new(0.1202, 0.3303, 2.81, 7.02),
        };
        for (int b = 1; b <= K; b++) hub[Z(b)] = new(0.05 * b, 0.1 * b, 1.1 * b, 2.2 * b);
        return new LatentSummary("tiny", "latent", 4, 1,
            Enumerable.Range(1, K).ToDictionary(Z, q => new LatentMass(0.5, 0.2, 0.1, 0.15, 0.05)),
            new BotRow(0.7, 0.2, 0.1),
            Enumerable.Range(2, K - 1).ToDictionary(q => $"{Z(q)}->{Z(q - 1)}", q => 0.01 * q),
            AvgSequential: null,
            Enumerable.Range(1, K).ToDictionary(Z, q => 0.02 * q), 0.07,
            Enumerable.Range(2, K - 2).ToDictionary(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture), d => 0.03 * d),
            hub, [new HubArgmax("P0, BOT, z1..z6", "P0", "P0"), new HubArgmax("z1..z6 (z1..z5 without self)", "z6", "z5")],
            new SinkRates(LatentReport.SinkDefinition, 0.3, 75, 25, 0));
    }

    public static LatentStats LatentStats() => new(
        "tiny", "latent", 4, Layers, Heads, Conventions.LatentRows(K), Conventions.LatentColumns(K),
        new LatentConsistency(0.0812, 0.3, 0.001, "visible cells only", true),
        new Dictionary<string, IReadOnlyDictionary<string, double?>>(),
        LatentTop, LatentTop);

    public static Phase1RunFacts Run(IReadOnlyList<ResolvedField>? spec = null) => new(
        "tiny <exp>", "A hand-made run.", "specs/tiny.yaml", "seed", "llama ({shape}), float32 on cpu", "generated, sha256 `abc`",
        "synthetic test split, sample 4, seed 42", "d00d", 32, new AnalysisSection(2.0, 0.3, 0.1, 7), "9.9.9",
        [("sample", "k-sample"), ("extract", "k-extract")],
        spec ?? [new ResolvedField("name", "tiny <exp>", "specs/tiny.yaml:1:7"), new ResolvedField("description", "a | b", "default")]);

    public static Phase1ReportInput Report(Accuracy? accuracy = null) =>
        new(Run(), Info(accuracy), Seed(), Stats(), Latent(), LatentStats(), Evidence());

    // Per-problem arrays for the evidence: 4 problems (problem 2 failed: zeros in the seed array, NaN in the latent one).
    public static float[] SeedRaw() => [.. Enumerable.Range(0, 4 * Layers * Heads * 36).Select(c =>
    {
        var (n, i, j) = (c / (Layers * Heads * 36), c / 6 % 6, c % 6);
        return n != 2 && i >= 1 && j < i ? (float)(((c + n) * 7 % 11 + 1) / 40.0) : 0f;
    })];

    public static float[] LatentRaw()
    {
        var block = Layers * Heads * (K + 1) * (K + 3);
        var avg = LatentAvg();
        return [.. Enumerable.Range(0, 4 * block).Select(c => c / block == 2 ? float.NaN : avg[c % block] * (1 + c / block * 0.1f))];
    }

    public static Phase1Evidence Evidence()
    {
        var info = Info();
        var latent = new LatentAnalysis(LatentRaw(), 4, Layers, Heads, K, info.PromptTokens);
        var weighted = new LatentAnalysis(LatentWeighted(), 4, Layers, Heads, K, info.PromptTokens);
        return Phase1Evidence.Build(SeedRaw(), info, latent, Seed(nanHub: false), Stats(), LatentStats().Consistency, 0.3, 0.1)
            with { Sink = SinkAnalysis.Build(latent, weighted) };
    }

    // The latent array with P0's share cut to a fifth and each row renormalised (P0's values five times smaller than the rest).
    public static float[] LatentWeighted()
    {
        var raw = LatentRaw();
        const int cols = K + 3;
        for (int row = 0; row < raw.Length / cols; row++)
        {
            var cells = raw.AsSpan(row * cols, cols);
            cells[0] *= 0.2f;
            var total = 0f;
            foreach (var v in cells) total += float.IsNaN(v) ? 0 : v;
            for (int c = 0; c < cols; c++) cells[c] /= total;
        }
        return raw;
    }

    public static Phase1FigureInput Figures() =>
        new("tiny", Info(), SeedAvg(), Stats(), Seed(nanHub: false), LatentAvg(), LatentStats(), Latent(), 0.3, 0.1, Evidence());
}
