using System.Text.Json;
using System.Text.Json.Serialization;

namespace CodiLab.Analysis;

/// <summary>One head of the seed's critical-heads table, with the seed's field names.</summary>
public sealed record SeedHeadRow(
    [property: JsonPropertyName("layer")] int Layer,
    [property: JsonPropertyName("head")] int Head,
    [property: JsonPropertyName("functional_type")] string FunctionalType,
    [property: JsonPropertyName("layer_type")] string LayerType,
    [property: JsonPropertyName("composite_score")] double Composite,
    [property: JsonPropertyName("flow_score")] double Flow,
    [property: JsonPropertyName("hub_score")] double Hub,
    [property: JsonPropertyName("hub_position")] int HubPosition,
    [property: JsonPropertyName("skip_score")] double Skip,
    [property: JsonPropertyName("max_attention")] double Max)
{
    /// <summary>The row of a computed head.</summary>
    public static SeedHeadRow Of(SeedHead h) =>
        new(h.Layer, h.Head, h.FunctionalType, h.LayerType, h.Composite, h.Flow, h.Hub, h.HubPosition, h.Skip, h.Max);
}

/// <summary>Mean and maximum of a score over every head.</summary>
public sealed record MeanMax([property: JsonPropertyName("mean")] double Mean, [property: JsonPropertyName("max")] double Max);

/// <summary>The seed definitions' artefacts, reproduced and counted so the report can say they are not findings.</summary>
public sealed record SeedArtefacts(
    [property: JsonPropertyName("flow_is_one_for_heads")] int FlowIsOneForHeads,
    [property: JsonPropertyName("total_heads")] int TotalHeads,
    [property: JsonPropertyName("composite_max_is_at_most_0_6")] bool CompositeMaxIsAtMost06);

/// <summary>Phase 2 on the seed convention.</summary>
public sealed record Phase2SeedSection(
    [property: JsonPropertyName("top_heads")] IReadOnlyList<SeedHeadRow> TopHeads,
    [property: JsonPropertyName("functional_type_distribution_top20")] IReadOnlyDictionary<string, int> FunctionalTypes,
    [property: JsonPropertyName("layer_distribution_top20")] IReadOnlyDictionary<string, int> LayerTypes,
    [property: JsonPropertyName("scores")] IReadOnlyDictionary<string, MeanMax> Scores,
    [property: JsonPropertyName("heads_above_0_7")] int HeadsAbove07,
    [property: JsonPropertyName("artefacts")] SeedArtefacts Artefacts);

/// <summary>One head ranked by one latent metric: its mean over problems and the std across them.</summary>
[JsonConverter(typeof(LatentTopHeadConverter))]
public sealed record LatentTopHead(string Metric, int Layer, int Head, double Mean, double Std);

/// <summary>Phase 2 on the latent view.</summary>
public sealed record Phase2LatentSection(
    [property: JsonPropertyName("head_means")] IReadOnlyDictionary<string, double> HeadMeans,
    [property: JsonPropertyName("top_sequential")] IReadOnlyList<LatentTopHead> TopSequential,
    [property: JsonPropertyName("top_receivers")] IReadOnlyList<LatentTopHead> TopReceivers,
    [property: JsonPropertyName("top_self")] IReadOnlyList<LatentTopHead> TopSelf);

/// <summary><c>phase2_summary.json</c>: per-head metrics in both conventions.</summary>
public sealed record Phase2Summary(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("n_layers")] int Layers,
    [property: JsonPropertyName("n_heads")] int Heads,
    [property: JsonPropertyName("seed")] Phase2SeedSection Seed,
    [property: JsonPropertyName("latent")] Phase2LatentSection Latent,
    [property: JsonPropertyName("evidence")] Phase2Evidence? Evidence = null);

/// <summary>Writes a <see cref="LatentTopHead"/> as <c>{layer, head, METRIC, METRIC_std}</c>, the metric named in its keys.</summary>
public sealed class LatentTopHeadConverter : JsonConverter<LatentTopHead>
{
    /// <inheritdoc />
    public override LatentTopHead Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var doc = JsonDocument.ParseValue(ref reader);
        var o = doc.RootElement;
        var metric = o.EnumerateObject()
            .First(p => p.Name is not ("layer" or "head") && !p.Name.EndsWith("_std", StringComparison.Ordinal));
        return new LatentTopHead(metric.Name, o.GetProperty("layer").GetInt32(), o.GetProperty("head").GetInt32(), metric.Value.GetDouble(),
            o.GetProperty(metric.Name + "_std").GetDouble());
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, LatentTopHead value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteNumber("layer", value.Layer);
        writer.WriteNumber("head", value.Head);
        writer.WriteNumber(value.Metric, value.Mean);
        writer.WriteNumber(value.Metric + "_std", value.Std);
        writer.WriteEndObject();
    }
}

/// <summary>Builds <see cref="Phase2Summary"/> from the per-head metrics.</summary>
public static class Phase2Summaries
{
    /// <summary>Functional types, in the order the seed counted them.</summary>
    public static readonly string[] FunctionalTypes = ["Hub Aggregator", "Skip Connection", "Forward Flow", "Multi-Purpose"];

    /// <summary>Layer types.</summary>
    public static readonly string[] LayerTypes = ["early", "middle", "late"];

    /// <summary>The summary: top 10 by composite, type counts in the top 20, score means and maxima, artefacts; latent top 10s.</summary>
    public static Phase2Summary Build(string model, int layers, int heads, IReadOnlyList<SeedHead> seed, IReadOnlyList<LatentHead> latent,
        Phase2Evidence? evidence = null)
    {
        var ranked = HeadMetrics.RankBy(seed, h => h.Composite);
        var top20 = ranked.Take(20).ToList();
        Dictionary<string, int> Counts(IEnumerable<string> keys, IEnumerable<string> values) =>
            keys.ToDictionary(k => k, k => values.Count(v => v == k));
        var scores = new (string Name, Func<SeedHead, double> F)[]
            { ("flow", h => h.Flow), ("hub", h => h.Hub), ("skip", h => h.Skip), ("composite", h => h.Composite) }
            .ToDictionary(s => s.Name, s => new MeanMax(seed.Average(s.F), seed.Max(s.F)));
        var seedSection = new Phase2SeedSection([.. ranked.Take(10).Select(SeedHeadRow.Of)],
            Counts(FunctionalTypes, top20.Select(h => h.FunctionalType)), Counts(LayerTypes, top20.Select(h => h.LayerType)), scores,
            seed.Count(h => h.Composite > 0.7),
            new SeedArtefacts(seed.Count(h => h.Flow == 1), seed.Count, seed.Max(h => h.Composite) <= 0.6 + 1e-9));
        List<LatentTopHead> Top(string metric) =>
            [.. latent.OrderByDescending(h => h.Metrics[metric].Mean).Take(10)
                .Select(h => new LatentTopHead(metric, h.Layer, h.Head, h.Metrics[metric].Mean, h.Metrics[metric].Std))];
        var names = latent[0].Metrics.Keys.ToList();
        var latentSection = new Phase2LatentSection(names.ToDictionary(n => n, n => latent.Average(h => h.Metrics[n].Mean)),
            Top("sequential"), Top("receiver_kurtosis"), Top("self"));
        return new Phase2Summary(model, layers, heads, seedSection, latentSection, evidence);
    }
}

/// <summary><c>phase2_summary.canonical.json</c> before canonicalisation: what the pins hold for Phase 2.</summary>
public sealed record Phase2Canonical(
    [property: JsonPropertyName("experiment")] string Experiment,
    [property: JsonPropertyName("phase2")] Phase2Summary Phase2);
