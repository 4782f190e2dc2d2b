using System.Text.Json;
using System.Text.Json.Nodes;
using CodiLab.Analysis;

namespace CodiLab.Pipeline.Artifacts;

/// <summary>A canonical Phase 1 summary: the experiment and its seed and latent sections (as pinned).</summary>
public sealed record CanonicalPhase1(string Experiment, JsonNode? Seed, JsonNode? Latent);

/// <summary>A canonical Phase 2 summary: the whole phase2 section, and its seed fields that Compare reports.</summary>
public sealed record CanonicalPhase2(string Experiment, JsonNode? Body, CanonicalPhase2Seed Seed);

/// <summary>Reads the canonical summaries (sorted keys, rounded numbers: what pins and Compare read).</summary>
public static class CanonicalFiles
{
    /// <summary>Reads <c>phase1_summary.canonical.json</c>.</summary>
    public static CanonicalPhase1 ReadPhase1(string path)
    {
        var root = Parse(path);
        return new CanonicalPhase1(Experiment(root, path), root["seed"]?.DeepClone(), root["latent"]?.DeepClone());
    }

    /// <summary>Reads <c>phase2_summary.canonical.json</c>.</summary>
    public static CanonicalPhase2 ReadPhase2(string path)
    {
        var root = Parse(path);
        var body = root["phase2"];
        var seed = body?["seed"];
        var top = seed?["top_heads"] as JsonArray;
        var rows = top?.Deserialize<List<SeedHeadRow>>(ArtifactJson.Options) ?? [];
        return new CanonicalPhase2(Experiment(root, path), body?.DeepClone(),
            new CanonicalPhase2Seed(top?.FirstOrDefault()?.DeepClone(), seed?["functional_type_distribution_top20"]?.DeepClone(),
                seed?["layer_distribution_top20"]?.DeepClone(), rows));
    }

    private static JsonObject Parse(string path) =>
        JsonNode.Parse(File.ReadAllText(path)) as JsonObject
        ?? throw new CodiLabException($"the canonical summary {path} is not a JSON object.", path,
            "run 'codilab verify', then run the phase again.", ExitCodes.Corrupt);

    private static string Experiment(JsonObject root, string path) =>
        root["experiment"]?.GetValue<string>()
        ?? throw new CodiLabException($"the canonical summary {path} names no experiment.", path,
            "run 'codilab verify', then run the phase again.", ExitCodes.Corrupt);
}
