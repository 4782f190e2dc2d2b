using System.Text.Json;
using System.Text.Json.Serialization;

namespace CodiLab.Analysis;

/// <summary>
/// One problem as the extract stage recorded it. A failed problem has an <see cref="Error"/> and nothing else;
/// a computed one has its prompt length and logit-lens ids, plus its answer when decoding was on.
/// </summary>
[JsonConverter(typeof(ProblemRecordConverter))]
public sealed record ProblemRecord(
    int Index, string Gsm8kId, int QuestionLength, bool Success, string? Error, int PromptTokens, IReadOnlyList<int> LogitLensTop1,
    Decoded? Answer = null);

/// <summary>A decoded answer: its text, the number parsed from it (null if none) and whether it equals the gold answer.</summary>
public sealed record Decoded(string? Text, double? Predicted, bool Correct);

/// <summary>Accuracy of the decoded answers.</summary>
public sealed record Accuracy([property: JsonPropertyName("correct")] int Correct, [property: JsonPropertyName("total")] int Total);

/// <summary>How the seed-convention array is laid out and what its rows and columns really are.</summary>
public sealed record SeedLayout(
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("layout")] string Layout,
    [property: JsonPropertyName("rows_really")] IReadOnlyList<string> RowsReally,
    [property: JsonPropertyName("columns_really")] IReadOnlyList<string> ColumnsReally,
    [property: JsonPropertyName("cell")] string Cell);

/// <summary>How the latent-view array is laid out, with its row and column labels.</summary>
public sealed record LatentLayout(
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("layout")] string Layout,
    [property: JsonPropertyName("rows")] IReadOnlyList<string> Rows,
    [property: JsonPropertyName("columns")] IReadOnlyList<string> Columns,
    [property: JsonPropertyName("cell")] string Cell);

/// <summary>Both conventions' layouts.</summary>
public sealed record ConventionLayouts(
    [property: JsonPropertyName("seed")] SeedLayout Seed,
    [property: JsonPropertyName("latent")] LatentLayout Latent);

/// <summary>
/// <c>attention_metadata.json</c>: the seed's metadata fields plus the labels, per-problem prompt lengths and
/// (when decoding is on) answers and accuracy. What every later stage knows about the extraction.
/// </summary>
public sealed record ExtractMetadata(
    [property: JsonPropertyName("model_name")] string Model,
    [property: JsonPropertyName("model_path")] string? ModelPath,
    [property: JsonPropertyName("n_problems")] int Problems,
    [property: JsonPropertyName("n_layers")] int Layers,
    [property: JsonPropertyName("n_heads")] int Heads,
    [property: JsonPropertyName("continuous_thought_positions")] IReadOnlyList<int> ContinuousThoughtPositions,
    [property: JsonPropertyName("dataset_path")] string DatasetPath,
    [property: JsonPropertyName("problems")] IReadOnlyList<ProblemRecord> ProblemRecords,
    [property: JsonPropertyName("num_latent")] int Latents,
    [property: JsonPropertyName("max_new_tokens")] int MaxNewTokens,
    [property: JsonPropertyName("accuracy")] Accuracy? Accuracy,
    [property: JsonPropertyName("dtype")] string DType,
    [property: JsonPropertyName("device")] string Device,
    [property: JsonPropertyName("conventions")] ConventionLayouts Conventions)
{
    /// <summary>Prompt length per problem (0 for a failed one).</summary>
    [JsonIgnore]
    public IReadOnlyList<int> PromptTokens => [.. ProblemRecords.Select(p => p.PromptTokens)];

    /// <summary>Problems whose CODI loop failed.</summary>
    [JsonIgnore]
    public int Failures => ProblemRecords.Count(p => !p.Success);
}

/// <summary>Writes and reads a <see cref="ProblemRecord"/> with the field set its state calls for.</summary>
public sealed class ProblemRecordConverter : JsonConverter<ProblemRecord>
{
    /// <inheritdoc />
    public override ProblemRecord Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var doc = JsonDocument.ParseValue(ref reader);
        var o = doc.RootElement;
        bool Has(string name, out JsonElement e) => o.TryGetProperty(name, out e) && e.ValueKind != JsonValueKind.Null;
        var lens = Has("logit_lens_top1", out var l) ? l.EnumerateArray().Select(x => x.GetInt32()).ToList() : [];
        Decoded? answer = o.TryGetProperty("correct", out var c)
            ? new Decoded(
                Has("answer_text", out var t) ? t.GetString() : null, Has("predicted", out var p) ? p.GetDouble() : null, c.GetBoolean())
            : null;
        return new ProblemRecord(
            o.GetProperty("index").GetInt32(), o.GetProperty("gsm8k_id").GetString()!, o.GetProperty("question_length").GetInt32(),
            o.GetProperty("success").GetBoolean(), Has("error", out var err) ? err.GetString() : null,
            Has("prompt_tokens", out var pt) ? pt.GetInt32() : 0, lens, answer);
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, ProblemRecord value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteNumber("index", value.Index);
        writer.WriteString("gsm8k_id", value.Gsm8kId);
        writer.WriteNumber("question_length", value.QuestionLength);
        writer.WriteBoolean("success", value.Success);
        if (value.Error is not null) writer.WriteString("error", value.Error);
        else
        {
            writer.WriteNumber("prompt_tokens", value.PromptTokens);
            writer.WriteStartArray("logit_lens_top1");
            foreach (var id in value.LogitLensTop1) writer.WriteNumberValue(id);
            writer.WriteEndArray();
            if (value.Answer is { } a)
            {
                writer.WriteString("answer_text", a.Text);
                if (a.Predicted is { } p) writer.WriteNumber("predicted", p);
                else writer.WriteNull("predicted");
                writer.WriteBoolean("correct", a.Correct);
            }
        }
        writer.WriteEndObject();
    }
}
