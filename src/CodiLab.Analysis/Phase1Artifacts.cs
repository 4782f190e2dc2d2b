using System.Text.Json;
using System.Text.Json.Serialization;

namespace CodiLab.Analysis;

/// <summary>A head's seed-convention aggregate numbers, as <c>attention_stats.json</c> lists its top heads.</summary>
public sealed record SeedTopHead(
    [property: JsonPropertyName("layer")] int Layer,
    [property: JsonPropertyName("head")] int Head,
    [property: JsonPropertyName("max_attention")] float MaxAttention,
    [property: JsonPropertyName("mean_attention")] float MeanAttention,
    [property: JsonPropertyName("std_attention")] float StdAttention);

/// <summary>Consistency of the seed matrix over problems (population std per cell, structural zeros included).</summary>
public sealed record SeedConsistency(
    [property: JsonPropertyName("mean_std")] float MeanStd,
    [property: JsonPropertyName("max_std")] float MaxStd,
    [property: JsonPropertyName("min_std")] float MinStd,
    [property: JsonPropertyName("consistent")] bool Consistent);

/// <summary>Incoming (column) and outgoing (row) sums of one seed position, averaged over heads.</summary>
public sealed record SeedPositionStat(
    [property: JsonPropertyName("position")] int Position,
    [property: JsonPropertyName("avg_incoming_attention")] double AvgIncoming,
    [property: JsonPropertyName("avg_outgoing_attention")] double AvgOutgoing);

/// <summary>Mean, max and min of the whole mean array.</summary>
public sealed record SeedOverallStats(
    [property: JsonPropertyName("mean_attention")] float Mean,
    [property: JsonPropertyName("max_attention")] float Max,
    [property: JsonPropertyName("min_attention")] float Min);

/// <summary>
/// <c>attention_stats.json</c> with the seed's field names. The top-heads list is written under
/// <c>top_{k}_heads</c>, k being the list's length as the seed named it, so the file has a custom writer.
/// </summary>
[JsonConverter(typeof(SeedStatsConverter))]
public sealed record SeedStats(
    string Model, int Problems, int Layers, int Heads, SeedConsistency Consistency, IReadOnlyList<SeedTopHead> TopHeads,
    IReadOnlyList<SeedPositionStat> PositionStats, SeedOverallStats Overall)
{
    /// <summary>The seed's key for the top-heads list.</summary>
    public string TopHeadsKey => $"top_{TopHeads.Count}_heads";
}

/// <summary>The seed's hub analysis: column sums of the 6×6 mean, averaged over heads.</summary>
public sealed record SeedHubAnalysis(
    [property: JsonPropertyName("hub_position")] int HubPosition,
    [property: JsonPropertyName("hub_score")] double HubScore,
    [property: JsonPropertyName("uniform_baseline")] double UniformBaseline,
    [property: JsonPropertyName("hub_ratio")] double HubRatio,
    [property: JsonPropertyName("is_strong_hub")] bool IsStrongHub,
    [property: JsonPropertyName("all_hub_scores")] IReadOnlyList<double> AllHubScores);

/// <summary>The seed's "sequential flow": M[i, i−1] (really z_i's self-attention).</summary>
public sealed record SeedSequentialFlow(
    [property: JsonPropertyName("has_sequential_flow")] bool HasSequentialFlow,
    [property: JsonPropertyName("avg_sequential_attention")] double AvgSequential,
    [property: JsonPropertyName("sequential_scores")] IReadOnlyList<double> Scores,
    [property: JsonPropertyName("position_5_to_4")] double Position5To4);

/// <summary>The seed's skip connections: M[5, 0..2].</summary>
public sealed record SeedSkipConnections(
    [property: JsonPropertyName("has_skip_connections")] bool HasSkipConnections,
    [property: JsonPropertyName("avg_skip_attention")] double AvgSkip,
    [property: JsonPropertyName("skip_scores")] IReadOnlyList<double> Scores);

/// <summary>The seed's four yes/no answers.</summary>
public sealed record SeedAnswers(
    [property: JsonPropertyName("which_position_is_hub")] int WhichPositionIsHub,
    [property: JsonPropertyName("is_there_sequential_flow")] bool IsThereSequentialFlow,
    [property: JsonPropertyName("does_pos5_attend_to_pos4")] bool DoesPos5AttendToPos4,
    [property: JsonPropertyName("are_there_skip_connections")] bool AreThereSkipConnections);

/// <summary><c>attention_summary.json</c> with the seed's field names and the spec's thresholds.</summary>
public sealed record SeedSummary(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("hub_analysis")] SeedHubAnalysis Hub,
    [property: JsonPropertyName("sequential_flow")] SeedSequentialFlow Sequential,
    [property: JsonPropertyName("skip_connections")] SeedSkipConnections Skip,
    [property: JsonPropertyName("answers")] SeedAnswers Answers);

/// <summary>Latent-view consistency over visible cells.</summary>
public sealed record LatentConsistency(
    [property: JsonPropertyName("mean_std")] double MeanStd,
    [property: JsonPropertyName("max_std")] double MaxStd,
    [property: JsonPropertyName("min_std")] double MinStd,
    [property: JsonPropertyName("cells")] string Cells,
    [property: JsonPropertyName("consistent")] bool Consistent);

/// <summary>One head's latent-view aggregate numbers (head-mean matrix cells, α of P0, BOT and z1).</summary>
public sealed record LatentHeadRow(
    [property: JsonPropertyName("layer")] int Layer,
    [property: JsonPropertyName("head")] int Head,
    [property: JsonPropertyName("max_latent_attention")] double MaxLatentAttention,
    [property: JsonPropertyName("self")] double Self,
    [property: JsonPropertyName("sequential")] double Sequential,
    [property: JsonPropertyName("to_bot")] double ToBot,
    [property: JsonPropertyName("to_p0")] double ToP0,
    [property: JsonPropertyName("to_question")] double ToQuestion,
    [property: JsonPropertyName("alpha_p0")] double AlphaP0,
    [property: JsonPropertyName("alpha_bot")] double AlphaBot,
    [property: JsonPropertyName("alpha_z1")] double AlphaZ1);

/// <summary><c>latent_stats.json</c>: the labelled aggregate.</summary>
public sealed record LatentStats(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("convention")] string Convention,
    [property: JsonPropertyName("n_problems")] int Problems,
    [property: JsonPropertyName("n_layers")] int Layers,
    [property: JsonPropertyName("n_heads")] int Heads,
    [property: JsonPropertyName("rows")] IReadOnlyList<string> Rows,
    [property: JsonPropertyName("columns")] IReadOnlyList<string> Columns,
    [property: JsonPropertyName("consistency")] LatentConsistency Consistency,
    [property: JsonPropertyName("head_mean")] IReadOnlyDictionary<string, IReadOnlyDictionary<string, double?>> HeadMean,
    [property: JsonPropertyName("top_heads")] IReadOnlyList<LatentHeadRow> TopHeads,
    [property: JsonPropertyName("heads")] IReadOnlyList<LatentHeadRow> HeadRows);

/// <summary>Where one latent query's attention goes (head mean).</summary>
public sealed record LatentMass(
    [property: JsonPropertyName("P0")] double P0,
    [property: JsonPropertyName("question")] double Question,
    [property: JsonPropertyName("BOT")] double Bot,
    [property: JsonPropertyName("earlier_latents")] double EarlierLatents,
    [property: JsonPropertyName("self")] double Self);

/// <summary>Where BOT's attention goes (head mean).</summary>
public sealed record BotRow(
    [property: JsonPropertyName("P0")] double P0,
    [property: JsonPropertyName("question")] double Question,
    [property: JsonPropertyName("self")] double Self);

/// <summary>A key's visibility-normalised hub score and its ratios to a uniform causal row.</summary>
public sealed record LatentHub(
    [property: JsonPropertyName("alpha")] double Alpha,
    [property: JsonPropertyName("alpha_without_first_position")] double? AlphaWithoutFirstPosition,
    [property: JsonPropertyName("uniform_ratio")] double UniformRatio,
    [property: JsonPropertyName("uniform_ratio_without_first_position")] double? UniformRatioWithoutFirstPosition);

/// <summary>
/// Sink rate in %: per problem, the share of heads whose α for the key exceeds the threshold, averaged over problems
/// (docs/experiment.md#sink-rate; before issue 15 this was the share of heads whose problem-averaged α did, as a fraction).
/// </summary>
public sealed record SinkRates(
    [property: JsonPropertyName("definition")] string Definition,
    [property: JsonPropertyName("threshold")] double Threshold,
    [property: JsonPropertyName("P0")] double P0,
    [property: JsonPropertyName("BOT")] double Bot,
    [property: JsonPropertyName("z1")] double Z1);

/// <summary><c>latent_summary.json</c>: labelled metrics on true indices.</summary>
public sealed record LatentSummary(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("convention")] string Convention,
    [property: JsonPropertyName("n_problems")] int Problems,
    [property: JsonPropertyName("failed_problems")] int FailedProblems,
    [property: JsonPropertyName("mass_by_key")] IReadOnlyDictionary<string, LatentMass> MassByKey,
    [property: JsonPropertyName("bot_row")] BotRow BotRow,
    [property: JsonPropertyName("sequential")] IReadOnlyDictionary<string, double> Sequential,
    [property: JsonPropertyName("avg_sequential")] double? AvgSequential,
    [property: JsonPropertyName("self_attention")] IReadOnlyDictionary<string, double> SelfAttention,
    [property: JsonPropertyName("avg_self_attention")] double AvgSelfAttention,
    [property: JsonPropertyName("skip_curve")] IReadOnlyDictionary<string, double> SkipCurve,
    [property: JsonPropertyName("hub")] IReadOnlyDictionary<string, LatentHub> Hub,
    [property: JsonPropertyName("hub_argmax")] IReadOnlyList<HubArgmax> HubArgmax,
    [property: JsonPropertyName("sink_rate")] SinkRates SinkRate);

/// <summary>Writes and reads <see cref="SeedStats"/> with its spec-dependent <c>top_{k}_heads</c> key in the seed's place.</summary>
public sealed class SeedStatsConverter : JsonConverter<SeedStats>
{
    /// <inheritdoc />
    public override SeedStats Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var doc = JsonDocument.ParseValue(ref reader);
        var o = doc.RootElement;
        T Get<T>(string name) => o.GetProperty(name).Deserialize<T>(options)!;
        var top = o.EnumerateObject()
            .First(p => p.Name.StartsWith("top_", StringComparison.Ordinal) && p.Name.EndsWith("_heads", StringComparison.Ordinal));
        return new SeedStats(
            Get<string>("model"), Get<int>("n_problems"), Get<int>("n_layers"), Get<int>("n_heads"), Get<SeedConsistency>("consistency"),
            top.Value.Deserialize<List<SeedTopHead>>(options)!, Get<List<SeedPositionStat>>("position_stats"),
            Get<SeedOverallStats>("overall_stats"));
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, SeedStats value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("model", value.Model);
        writer.WriteNumber("n_problems", value.Problems);
        writer.WriteNumber("n_layers", value.Layers);
        writer.WriteNumber("n_heads", value.Heads);
        writer.WritePropertyName("consistency");
        JsonSerializer.Serialize(writer, value.Consistency, options);
        writer.WritePropertyName(value.TopHeadsKey);
        JsonSerializer.Serialize(writer, value.TopHeads, options);
        writer.WritePropertyName("position_stats");
        JsonSerializer.Serialize(writer, value.PositionStats, options);
        writer.WritePropertyName("overall_stats");
        JsonSerializer.Serialize(writer, value.Overall, options);
        writer.WriteEndObject();
    }
}

/// <summary>The seed convention's part of the canonical Phase 1 summary.</summary>
public sealed record CanonicalSeedPart(
    [property: JsonPropertyName("attention_summary")] SeedSummary AttentionSummary,
    [property: JsonPropertyName("attention_stats")] SeedStats AttentionStats);

/// <summary>The latent view's part of the canonical Phase 1 summary.</summary>
public sealed record CanonicalLatentPart(
    [property: JsonPropertyName("latent_summary")] LatentSummary LatentSummary,
    [property: JsonPropertyName("consistency")] LatentConsistency Consistency,
    [property: JsonPropertyName("top_heads")] IReadOnlyList<LatentHeadRow> TopHeads);

/// <summary><c>phase1_summary.canonical.json</c> before canonicalisation: what the pins hold for Phase 1.</summary>
public sealed record Phase1Canonical(
    [property: JsonPropertyName("experiment")] string Experiment,
    [property: JsonPropertyName("seed")] CanonicalSeedPart Seed,
    [property: JsonPropertyName("latent")] CanonicalLatentPart Latent);
