using System.Text.Json;
using System.Text.Json.Nodes;
using CodiLab.Pipeline.Analysis;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;
using CodiLab.Specs;

namespace CodiLab.Pipeline.Stages;

/// <summary>What the extract stage recorded about the run, read back by later stages.</summary>
public sealed record ExtractInfo(string Model, int Problems, int Layers, int Heads, int Latents, IReadOnlyList<int> PromptTokens, int Failures, (int Correct, int Total)? Accuracy = null)
{
    /// <summary>Reads attention_metadata.json.</summary>
    public static ExtractInfo Read(string path)
    {
        var m = JsonNode.Parse(File.ReadAllText(path))!;
        var problems = m["problems"]!.AsArray();
        return new ExtractInfo(m["model_name"]!.GetValue<string>(), m["n_problems"]!.GetValue<int>(), m["n_layers"]!.GetValue<int>(), m["n_heads"]!.GetValue<int>(),
            m["num_latent"]!.GetValue<int>(), [.. problems.Select(p => p!["prompt_tokens"]?.GetValue<int>() ?? 0)], problems.Count(p => !p!["success"]!.GetValue<bool>()),
            m["accuracy"] is JsonObject a ? (a["correct"]!.GetValue<int>(), a["total"]!.GetValue<int>()) : null);
    }

    /// <summary>The latent analysis of the extract stage's arrays.</summary>
    public LatentAnalysis Latent(string rawPath) => new(Npy.Read(rawPath).Values, Problems, Layers, Heads, Latents, PromptTokens);
}

/// <summary>
/// Phase 1 after extraction (seed scripts 3–5 and the labelled view): aggregate → analyze → figures → report.
/// Figures come after analyze because the hub/flow/skip charts draw its scores.
/// </summary>
public static class Phase1Stages
{
    /// <summary>Seed: float16-rounded mean [L, H, 6, 6].</summary>
    public const string SeedAvg = "attention_patterns_avg.npy";

    /// <summary>Seed: aggregate statistics.</summary>
    public const string SeedStats = "attention_stats.json";

    /// <summary>Latent: mean [L, H, K+1, K+3] (NaN = not visible).</summary>
    public const string LatentAvg = "latent_patterns_avg.npy";

    /// <summary>Latent: aggregate statistics.</summary>
    public const string LatentStats = "latent_stats.json";

    /// <summary>Seed: hub/flow/skip summary with the seed's field names.</summary>
    public const string SeedSummary = "attention_summary.json";

    /// <summary>Latent: labelled metrics.</summary>
    public const string LatentSummary = "latent_summary.json";

    /// <summary>Both summaries in canonical form (sorted keys, fixed rounding): what snapshot tests pin.</summary>
    public const string CanonicalSummary = "phase1_summary.canonical.json";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Writes a JSON node, indented.</summary>
    public static void WriteJson(string path, JsonNode node) => File.WriteAllText(path, node.ToJsonString(Indented));

    /// <summary>The aggregate stage.</summary>
    public static Stage Aggregate() => new(
        Name: "aggregate", Phase: "Phase1", Version: 1,
        Reads: ["analysis.top_heads"],
        Upstream: ["extract"],
        Outputs: [SeedAvg, SeedStats, LatentAvg, LatentStats],
        Externals: (_, _) => [],
        Execute: ctx =>
        {
            var info = ExtractInfo.Read(ctx.Input("extract", ExtractStage.Metadata));
            var top = checked((int)ctx.Spec.Int("analysis.top_heads"));
            var raw = Npy.Read(ctx.Input("extract", ExtractStage.SeedRaw));
            var (mean, std) = SeedAnalysis.MeanStd(raw.Values, info.Problems);
            Npy.Write(ctx.Output(SeedAvg), [info.Layers, info.Heads, Conventions.SeedSize, Conventions.SeedSize], mean, half: true);
            WriteJson(ctx.Output(SeedStats), SeedAnalysis.Stats(info.Model, info.Problems, info.Layers, info.Heads, mean, std, Math.Min(top, info.Layers * info.Heads)));

            var latent = info.Latent(ctx.Input("extract", ExtractStage.LatentRaw));
            Npy.Write(ctx.Output(LatentAvg), [info.Layers, info.Heads, latent.Rows, latent.Columns], latent.Mean, half: false);
            WriteJson(ctx.Output(LatentStats), LatentReport.Stats(info, latent, top));
        });

    /// <summary>The analyze stage.</summary>
    public static Stage Analyze() => new(
        Name: "analyze", Phase: "Phase1", Version: 1,
        Reads: ["name", "analysis.hub_ratio_threshold", "analysis.sequential_threshold", "analysis.skip_threshold"], // name: in the canonical summary
        Upstream: ["extract", "aggregate"],
        Outputs: [SeedSummary, LatentSummary, CanonicalSummary],
        Externals: (_, _) => [],
        Execute: ctx =>
        {
            var s = ctx.Spec;
            var info = ExtractInfo.Read(ctx.Input("extract", ExtractStage.Metadata));
            var rounded = Npy.Read(ctx.Input("aggregate", SeedAvg)).Values;
            var scores = SeedAnalysis.Analyze(rounded, info.Layers * info.Heads);
            var seed = SeedAnalysis.Summary(info.Model, scores, s.Number("analysis.hub_ratio_threshold"), s.Number("analysis.sequential_threshold"), s.Number("analysis.skip_threshold"));
            WriteJson(ctx.Output(SeedSummary), seed);
            var latent = LatentReport.Summary(info, info.Latent(ctx.Input("extract", ExtractStage.LatentRaw)));
            WriteJson(ctx.Output(LatentSummary), latent);
            var stats = JsonNode.Parse(File.ReadAllText(ctx.Input("aggregate", SeedStats)))!;
            var latentStats = JsonNode.Parse(File.ReadAllText(ctx.Input("aggregate", LatentStats)))!;
            File.WriteAllText(ctx.Output(CanonicalSummary), CanonicalJson.Text(new JsonObject
            {
                ["experiment"] = s.Name,
                ["seed"] = new JsonObject { ["attention_summary"] = seed.DeepClone(), ["attention_stats"] = stats.DeepClone() },
                ["latent"] = new JsonObject { ["latent_summary"] = latent.DeepClone(), ["consistency"] = latentStats["consistency"]!.DeepClone(), ["top_heads"] = latentStats["top_heads"]!.DeepClone() },
            }));
        });
}
