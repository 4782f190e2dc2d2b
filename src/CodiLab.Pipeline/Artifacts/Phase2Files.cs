using System.Globalization;
using CodiLab.Analysis;
using CodiLab.Pipeline.Data;

namespace CodiLab.Pipeline.Artifacts;

/// <summary>The files Phase 2 stages write: their names, and one reader per file read downstream.</summary>
public static class Phase2Files
{
    /// <summary>The seed's ranked-heads table.</summary>
    public const string RankedHeads = "ranked_heads.csv";

    /// <summary>The seed's three single-score rankings and the ranked-heads table.</summary>
    public static readonly string[] SeedCsv =
    [
        "heads_ranked_by_flow.csv",
        "heads_ranked_by_hub.csv",
        "heads_ranked_by_skip.csv",
        RankedHeads,
    ];

    /// <summary>The seed's findings text.</summary>
    public const string Findings = "critical_heads_findings.txt";

    /// <summary>Latent-view per-head metrics.</summary>
    public const string LatentHeads = "latent_heads.csv";

    /// <summary><see cref="Phase2Summary"/>.</summary>
    public const string Summary = "phase2_summary.json";

    /// <summary>The summary in canonical form (what pins hold).</summary>
    public const string CanonicalSummary = "phase2_summary.canonical.json";

    /// <summary>Reads the Phase 2 summary.</summary>
    public static Phase2Summary ReadSummary(string path) => ArtifactJson.Read<Phase2Summary>(path);

    /// <summary>The seed per-head metrics of an aggregate's float16 mean.</summary>
    public static List<SeedHead> SeedHeads(string seedAvgPath, ExtractMetadata info) =>
        HeadMetrics.Seed(Npy.Read(seedAvgPath).Values, info.Layers, info.Heads);

    /// <summary>
    /// The latent per-head metrics (means and SDs; no per-problem values) as the heads stage wrote them to
    /// <see cref="LatentHeads"/>, so a later stage reads them instead of recomputing them from the raw array.
    /// </summary>
    public static List<LatentHead> ReadLatentHeads(string path)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
        var header = lines[0].Split(',');
        var names = header.Skip(3).Where(h => !h.EndsWith("_std", StringComparison.Ordinal)).ToList();
        double At(string[] cells, string name) => double.Parse(cells[Array.IndexOf(header, name)], CultureInfo.InvariantCulture);
        return [.. lines.Skip(1).Select(line => line.Split(',')).Select(cells => new LatentHead(
            int.Parse(cells[0], CultureInfo.InvariantCulture), int.Parse(cells[1], CultureInfo.InvariantCulture),
            names.ToDictionary(n => n, n => (At(cells, n), At(cells, n + "_std")), StringComparer.Ordinal)))];
    }

    /// <summary>The latent per-head metrics of an extraction's per-problem array.</summary>
    public static List<LatentHead> LatentHeadMetrics(string latentRawPath, ExtractMetadata info)
    {
        var blocks = Npy.Blocks(latentRawPath, info.Problems, info.Layers * info.Heads * (info.Latents + 1) * (info.Latents + 3));
        return HeadMetrics.Latent(blocks(), info.Problems, info.Layers, info.Heads, info.Latents);
    }
}
