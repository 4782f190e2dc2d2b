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

    /// <summary>extract: attention mass of every query row on each prompt-token kind [N, L, H, K+1, 5] float32 (P0, number,
    /// operator, last, other; NaN = failed problem).</summary>
    public const string QuestionKindMass = "question_token_mass.npy";

    /// <summary>extract: positions of each row's strongest question keys [N, L, H, K+1, 8] float32 (−1 = none).</summary>
    public const string QuestionTopKeys = "question_topk_keys.npy";

    /// <summary>extract: weights of those keys [N, L, H, K+1, 8] float32 (NaN = none).</summary>
    public const string QuestionTopWeights = "question_topk_weights.npy";

    /// <summary>extract: logit-lens top-5 ids [N, K+1, 5] float32 (NaN = failed problem).</summary>
    public const string LensIds = "logit_lens_topk_ids.npy";

    /// <summary>extract: every problem's prompt tokens (<see cref="PromptTokenRecord"/>: ids, texts, kinds).</summary>
    public const string QuestionTokens = "question_tokens.json";

    /// <summary>extract: every problem's decoded logit lens with its gold solution (<see cref="LensRecords"/>).</summary>
    public const string LensTopK = "logit_lens_topk.json";

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

    /// <summary>analyze: <see cref="QuestionKindSummary"/> (which question-token kinds each query reads).</summary>
    public const string QuestionKinds = "question_kinds.json";

    /// <summary>analyze: <see cref="LogitLensSummary"/> (logit lens against the gold intermediate results).</summary>
    public const string LogitLens = "logit_lens.json";

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

    /// <summary>Reads the prompt tokens of every problem.</summary>
    public static IReadOnlyList<PromptTokenRecord> ReadQuestionTokens(string path) => ArtifactJson.Read<List<PromptTokenRecord>>(path);

    /// <summary>Reads the decoded logit lens of every problem.</summary>
    public static LensRecords ReadLensTopK(string path) => ArtifactJson.Read<LensRecords>(path);

    /// <summary>Reads the question-kind summary.</summary>
    public static QuestionKindSummary ReadQuestionKinds(string path) => ArtifactJson.Read<QuestionKindSummary>(path);

    /// <summary>Reads the logit-lens summary.</summary>
    public static LogitLensSummary ReadLogitLens(string path) => ArtifactJson.Read<LogitLensSummary>(path);

    /// <summary>The latent analysis of the extract stage's per-problem array.</summary>
    public static LatentAnalysis ReadLatent(string rawPath, ExtractMetadata info) =>
        new(Npy.Read(rawPath).Values, info.Problems, info.Layers, info.Heads, info.Latents, info.PromptTokens);
}
