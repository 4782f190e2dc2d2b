using CodiLab.Analysis;
using CodiLab.Pipeline.Data;

namespace CodiLab.Pipeline.Artifacts;

/// <summary>The files Phase 1 stages pass to each other: their names, and one reader per file.</summary>
public static class Phase1Files
{
    /// <summary>sample: the seed's dataset JSON.</summary>
    public const string Dataset = "dataset.json";

    /// <summary>extract: seed-convention array [N, L, H, 6, 6] float16.</summary>
    public const string SeedRaw = "attention_patterns_raw.npy";

    /// <summary>extract: latent-view array [N, L, H, K+1, K+3] float32.</summary>
    public const string LatentRaw = "latent_attention_raw.npy";

    /// <summary>
    /// extract: value-weighted latent view [N, L, H, K+1, K+3] float32 (rows weighted by ‖W_O^h v_key‖ and renormalised;
    /// docs/experiment.md#sink-or-hub).
    /// </summary>
    public const string LatentValueWeighted = "latent_value_weighted_raw.npy";

    /// <summary>extract: <see cref="ExtractMetadata"/>.</summary>
    public const string Metadata = "attention_metadata.json";

    /// <summary>aggregate: float16-rounded seed mean [L, H, 6, 6].</summary>
    public const string SeedAvg = "attention_patterns_avg.npy";

    /// <summary>aggregate: <see cref="SeedStats"/>.</summary>
    public const string SeedStats = "attention_stats.json";

    /// <summary>aggregate: latent mean [L, H, K+1, K+3] (NaN = not visible).</summary>
    public const string LatentAvg = "latent_patterns_avg.npy";

    /// <summary>aggregate: <see cref="LatentStats"/>.</summary>
    public const string LatentStats = "latent_stats.json";

    /// <summary>analyze: <see cref="SeedSummary"/>.</summary>
    public const string SeedSummary = "attention_summary.json";

    /// <summary>analyze: <see cref="LatentSummary"/>.</summary>
    public const string LatentSummary = "latent_summary.json";

    /// <summary>analyze: <see cref="Phase1Evidence"/> (baselines, intervals, claims; per-problem values for Compare).</summary>
    public const string Evidence = "evidence.json";

    /// <summary>analyze: both summaries in canonical form (what pins hold).</summary>
    public const string CanonicalSummary = "phase1_summary.canonical.json";

    /// <summary>Reads the extract metadata.</summary>
    public static ExtractMetadata ReadMetadata(string path) => ArtifactJson.Read<ExtractMetadata>(path);

    /// <summary>Reads the seed aggregate statistics.</summary>
    public static SeedStats ReadSeedStats(string path) => ArtifactJson.Read<SeedStats>(path);

    /// <summary>Reads the latent aggregate statistics.</summary>
    public static LatentStats ReadLatentStats(string path) => ArtifactJson.Read<LatentStats>(path);

    /// <summary>Reads the seed summary.</summary>
    public static SeedSummary ReadSeedSummary(string path) => ArtifactJson.Read<SeedSummary>(path);

    /// <summary>Reads the latent summary.</summary>
    public static LatentSummary ReadLatentSummary(string path) => ArtifactJson.Read<LatentSummary>(path);

    /// <summary>Reads the evidence.</summary>
    public static Phase1Evidence ReadEvidence(string path) => ArtifactJson.Read<Phase1Evidence>(path);

    /// <summary>The latent analysis of the extract stage's per-problem array.</summary>
    public static LatentAnalysis ReadLatent(string rawPath, ExtractMetadata info) =>
        new(Npy.Read(rawPath).Values, info.Problems, info.Layers, info.Heads, info.Latents, info.PromptTokens);
}
