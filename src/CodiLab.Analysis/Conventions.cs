namespace CodiLab.Analysis;

/// <summary>
/// The two matrix conventions (docs/experiment.md#the-two-matrix-conventions), both derived from the same captured rows of one trace.
/// <para><b>seed</b> — the seed's 6×6 with its off-by-one (docs/experiment.md#the-off-by-one): M[s, j] = A(z_s → z_{j+1}) for
/// s = 1..5, j = 0..s−1; row 0 (the BOT query) and column 5 stay zero, so M[s, s−1] is z_s's self-attention.</para>
/// <para><b>latent</b> — labelled rows BOT, z1..zK (queries) over columns P0, question (P1…, summed), BOT,
/// z1..zK (keys); cells a query cannot see are NaN, never zero. Each row sums to 1.</para>
/// </summary>
public static class Conventions
{
    /// <summary>The seed matrix side.</summary>
    public const int SeedSize = 6;

    /// <summary>Row labels of the seed matrix as the seed named them, and what they really are.</summary>
    public static readonly string[] SeedRowsAsNamed = ["CT0", "CT1", "CT2", "CT3", "CT4", "CT5"];

    /// <summary>What the seed's rows really are (queries).</summary>
    public static readonly string[] SeedRowsReally = ["BOT (never filled)", "z1", "z2", "z3", "z4", "z5"];

    /// <summary>What the seed's columns really are (keys).</summary>
    public static readonly string[] SeedColumnsReally = ["z1", "z2", "z3", "z4", "z5", "z6 (never exists)"];

    /// <summary>Seed rows as figures label them: index and what the row really is ("0 BOT", "1 z1", …).</summary>
    public static readonly string[] SeedRowLabels = [.. SeedRowsReally.Select((r, i) => $"{i} {r.Split(' ')[0]}")];

    /// <summary>Seed columns as figures label them ("0 z1", …, "5 z6").</summary>
    public static readonly string[] SeedColumnLabels = [.. SeedColumnsReally.Select((c, j) => $"{j} {c.Split(' ')[0]}")];

    /// <summary>Latent key labels for figure axes, with "question" shortened to Q.</summary>
    public static string[] LatentColumnLabels(int k) => [.. LatentColumns(k).Select(c => c == "question" ? "Q" : c)];

    /// <summary>Query labels of the latent view: BOT, z1..zK.</summary>
    public static string[] LatentRows(int k) => ["BOT", .. Enumerable.Range(1, k).Select(i => $"z{i}")];

    /// <summary>Key labels of the latent view: P0, question (P1…), BOT, z1..zK.</summary>
    public static string[] LatentColumns(int k) => ["P0", "question", "BOT", .. Enumerable.Range(1, k).Select(i => $"z{i}")];
}
