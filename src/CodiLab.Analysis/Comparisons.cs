using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using CodiLab.Specs;

namespace CodiLab.Analysis;

/// <summary>The seed's Phase 2 fields of one side as its canonical summary holds them (null when Phase 2 did not run).</summary>
/// <param name="TopHead">The first critical head.</param>
/// <param name="FunctionalTypes">Functional types in the top 20.</param>
/// <param name="LayerTypes">Layer types in the top 20.</param>
/// <param name="TopHeads">The ten critical heads.</param>
public sealed record CanonicalPhase2Seed(
    JsonNode? TopHead, JsonNode? FunctionalTypes, JsonNode? LayerTypes, IReadOnlyList<SeedHeadRow> TopHeads);

/// <summary>One experiment's artifacts, as Compare reads them.</summary>
/// <param name="Name">The experiment.</param>
/// <param name="Reference">How its spec was named.</param>
/// <param name="Arch">Its architecture.</param>
/// <param name="Spec">Its resolved spec.</param>
/// <param name="Info">Its extraction metadata.</param>
/// <param name="Leaves">Every leaf of its canonical Phase 1 (and Phase 2) summaries: dotted path → value.</param>
/// <param name="Seed">Its seed summary.</param>
/// <param name="Phase2">Its Phase 2 seed fields, or null.</param>
/// <param name="SeedAvg">Seed mean [L, H, 6, 6].</param>
/// <param name="LatentAvg">Latent mean [L, H, K+1, K+3].</param>
/// <param name="Evidence">Its Phase 1 evidence (per-problem headline values, baselines), or null.</param>
/// <param name="Latent">Its latent summary, or null.</param>
public sealed record CompareSide(
    string Name, string Reference, Arch Arch, IReadOnlyList<ResolvedField> Spec, ExtractMetadata Info,
    IReadOnlyDictionary<string, JsonNode?> Leaves, SeedSummary Seed, CanonicalPhase2Seed? Phase2, float[] SeedAvg, float[] LatentAvg,
    Phase1Evidence? Evidence = null, LatentSummary? Latent = null)
{
    /// <summary>Head mean of a [L, H, rows, cols] average.</summary>
    public double[,] HeadMean(float[] avg, int rows, int cols)
    {
        var heads = Info.Layers * Info.Heads;
        var m = new double[rows, cols];
        for (int hd = 0; hd < heads; hd++)
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) m[i, j] += avg[(hd * rows + i) * cols + j] / heads;
        return m;
    }
}

/// <summary>A model's shape, as the seed's model_comparison.json gives it.</summary>
public sealed record ModelShape(
    [property: JsonPropertyName("model_size")] string ModelSize,
    [property: JsonPropertyName("n_layers")] int Layers,
    [property: JsonPropertyName("n_heads")] int Heads,
    [property: JsonPropertyName("total_heads")] int TotalHeads);

/// <summary>The hub's strength on one side.</summary>
public sealed record HubStrength(
    [property: JsonPropertyName("score")] double Score,
    [property: JsonPropertyName("ratio")] double Ratio,
    [property: JsonPropertyName("strong")] bool Strong);

/// <summary>The seed's key findings, per side.</summary>
public sealed record KeyFindings(
    [property: JsonPropertyName("hub_position")] IReadOnlyDictionary<string, int> HubPosition,
    [property: JsonPropertyName("hub_strength")] IReadOnlyDictionary<string, HubStrength> HubStrength,
    [property: JsonPropertyName("sequential_flow")] IReadOnlyDictionary<string, bool> SequentialFlow,
    [property: JsonPropertyName("skip_connections")] IReadOnlyDictionary<string, bool> SkipConnections);

/// <summary>The seed's <c>model_comparison.json</c> fields, each keyed by experiment name.</summary>
public sealed record ModelComparison(
    [property: JsonPropertyName("models")] IReadOnlyDictionary<string, ModelShape> Models,
    [property: JsonPropertyName("hub_analysis")] IReadOnlyDictionary<string, SeedHubAnalysis> HubAnalysis,
    [property: JsonPropertyName("top_heads")] IReadOnlyDictionary<string, JsonNode?> TopHeads,
    [property: JsonPropertyName("functional_type_distribution_top20")] IReadOnlyDictionary<string, JsonNode?> FunctionalTypes,
    [property: JsonPropertyName("layer_distribution_top20")] IReadOnlyDictionary<string, JsonNode?> LayerTypes,
    [property: JsonPropertyName("key_findings")] KeyFindings KeyFindings);

/// <summary>A spec field that differs: its path and each side's canonical value (rows keyed by experiment name in the file).</summary>
public sealed record ParamDiff(string Field, string A, string B);

/// <summary>A summary value on both sides and, for numbers, B − A rounded as canonical summaries are.</summary>
public sealed record MetricRow(string Metric, JsonNode? A, JsonNode? B, double? Delta);

/// <summary>A headline delta's 95% bootstrap interval, or the reason it has none.</summary>
public sealed record DeltaInterval(
    [property: JsonPropertyName("interval")] Interval? Interval,
    [property: JsonPropertyName("pairing")] string Pairing);

/// <summary><c>compare.json</c>: what differs between two experiments and every summary value side by side.</summary>
public sealed record CompareResult(
    string Key, string A, string B, IReadOnlyDictionary<string, string> Specs, IReadOnlyList<ParamDiff> ParamsDiff,
    IReadOnlyList<MetricRow> Metrics, ModelComparison ModelComparison,
    IReadOnlyDictionary<string, DeltaInterval>? DeltaIntervals = null);

/// <summary>Builds a <see cref="CompareResult"/> from two sides.</summary>
public static class Comparisons
{
    /// <summary>Params diff, metric rows with deltas, and the seed's model_comparison fields.</summary>
    public static CompareResult Build(CompareSide a, CompareSide b, string key)
    {
        var fb = b.Spec.ToDictionary(f => f.Path, f => f.Value);
        var diff = a.Spec.OrderBy(f => f.Path, StringComparer.Ordinal).Where(f => f.Path != "name" && f.Value != fb[f.Path])
            .Select(f => new ParamDiff(f.Path, f.Value, fb[f.Path])).ToList();
        var metrics = new List<MetricRow>();
        foreach (var path in a.Leaves.Keys.Union(b.Leaves.Keys).Order(StringComparer.Ordinal))
        {
            var (va, vb) = (a.Leaves.GetValueOrDefault(path), b.Leaves.GetValueOrDefault(path));
            double? delta = CanonicalJson.NumberOf(va) is { } x && CanonicalJson.NumberOf(vb) is { } y
                ? Math.Round(y - x, CanonicalJson.Decimals)
                : null;
            metrics.Add(new MetricRow(path, va?.DeepClone(), vb?.DeepClone(), delta));
        }
        var specs = new Dictionary<string, string> { [a.Name] = a.Reference, [b.Name] = b.Reference };
        return new CompareResult(key, a.Name, b.Name, specs, diff, metrics, ModelComparisonOf([a, b]), Deltas(a, b));
    }

    /// <summary>Canonical summary paths whose per-problem values the evidence keeps, and the evidence's key for each.</summary>
    public static readonly IReadOnlyDictionary<string, string> PerProblemKeys = new Dictionary<string, string>
    {
        ["phase1.seed.attention_summary.hub_analysis.hub_score"] = "seed.hub_score",
        ["phase1.seed.attention_summary.hub_analysis.hub_ratio"] = "seed.hub_ratio",
        ["phase1.seed.attention_summary.sequential_flow.avg_sequential_attention"] = "seed.avg_sequential",
        ["phase1.seed.attention_summary.skip_connections.avg_skip_attention"] = "seed.avg_skip",
        ["phase1.latent.latent_summary.avg_sequential"] = "latent.avg_sequential",
        ["phase1.latent.latent_summary.avg_self_attention"] = "latent.avg_self_attention",
        ["phase1.latent.latent_summary.hub.BOT.alpha"] = "latent.hub.BOT.alpha",
        ["phase1.latent.latent_summary.hub.P0.alpha"] = "latent.hub.P0.alpha",
        ["phase1.latent.latent_summary.hub.z1.alpha"] = "latent.hub.z1.alpha",
        ["phase1.latent.latent_summary.sink_rate.P0"] = "latent.sink_rate.P0",
    };

    // B − A per headline: paired over the same problems (same ids, same order), else each side resampled on its own.
    private static Dictionary<string, DeltaInterval> Deltas(CompareSide a, CompareSide b)
    {
        var result = new Dictionary<string, DeltaInterval>(StringComparer.Ordinal);
        if (a.Evidence is not { } ea || b.Evidence is not { } eb) return result;
        var paired = ea.ProblemIds.SequenceEqual(eb.ProblemIds);
        foreach (var (path, key) in PerProblemKeys)
        {
            if (!ea.PerProblem.TryGetValue(key, out var va) || !eb.PerProblem.TryGetValue(key, out var vb)) continue;
            result[path] = paired
                ? new DeltaInterval(Bootstrap.PairedDelta(va, vb), "paired (same problems)")
                : new DeltaInterval(Bootstrap.UnpairedDelta(va, vb), "unpaired (different problems)");
        }
        return result;
    }

    private static ModelComparison ModelComparisonOf(CompareSide[] sides)
    {
        Dictionary<string, T> PerSide<T>(Func<CompareSide, T> f) => sides.ToDictionary(s => s.Name, f);
        return new ModelComparison(
            PerSide(s => new ModelShape(
                $"{s.Arch.Word()} {s.Info.Layers}L x {s.Info.Heads}H", s.Info.Layers, s.Info.Heads, s.Info.Layers * s.Info.Heads)),
            PerSide(s => s.Seed.Hub), PerSide(s => s.Phase2?.TopHead?.DeepClone()), PerSide(s => s.Phase2?.FunctionalTypes?.DeepClone()),
            PerSide(s => s.Phase2?.LayerTypes?.DeepClone()),
            new KeyFindings(
                PerSide(s => s.Seed.Hub.HubPosition),
                PerSide(s => new HubStrength(s.Seed.Hub.HubScore, s.Seed.Hub.HubRatio, s.Seed.Hub.IsStrongHub)),
                PerSide(s => s.Seed.Sequential.HasSequentialFlow), PerSide(s => s.Seed.Skip.HasSkipConnections)));
    }

    /// <summary>Every leaf of a JSON tree under a prefix: dotted path (arrays as [i]) → value.</summary>
    public static void Flatten(string path, JsonNode? node, IDictionary<string, JsonNode?> into)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o) Flatten($"{path}.{k}", v, into);
                break;
            case JsonArray arr:
                for (int i = 0; i < arr.Count; i++) Flatten($"{path}[{i}]", arr[i], into);
                break;
            default:
                into[path] = node?.DeepClone();
                break;
        }
    }
}
