using System.Text.Json;
using CodiLab.Analysis;

namespace CodiLab.Pipeline.Artifacts;

/// <summary>The files a comparison writes, and the writer of <c>compare.json</c> (whose rows are keyed by experiment name).</summary>
public static class CompareFiles
{
    /// <summary><see cref="CompareResult"/>.</summary>
    public const string Json = "compare.json";

    /// <summary>The report.</summary>
    public const string Markdown = "compare.md";

    /// <summary>Every output file, relative to the comparison's folder.</summary>
    public static readonly string[] All = [Json, Markdown, .. CodiLab.Reports.CompareFigures.Files];

    /// <summary>Writes <c>compare.json</c>, indented.</summary>
    public static void Write(string path, CompareResult r)
    {
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("key", r.Key);
        w.WriteString("a", r.A);
        w.WriteString("b", r.B);
        w.WritePropertyName("specs");
        JsonSerializer.Serialize(w, r.Specs, ArtifactJson.Options);
        w.WriteStartArray("params_diff");
        foreach (var p in r.ParamsDiff)
        {
            w.WriteStartObject();
            w.WriteString("field", p.Field);
            w.WriteString(r.A, p.A);
            w.WriteString(r.B, p.B);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("metrics");
        foreach (var m in r.Metrics)
        {
            w.WriteStartObject();
            w.WriteString("metric", m.Metric);
            Node(w, r.A, m.A);
            Node(w, r.B, m.B);
            if (m.Delta is { } d) w.WriteNumber("delta", d);
            if (r.DeltaIntervals?.GetValueOrDefault(m.Metric) is { } di)
            {
                w.WritePropertyName("delta_ci");
                JsonSerializer.Serialize(w, di, ArtifactJson.Options);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WritePropertyName("model_comparison");
        JsonSerializer.Serialize(w, r.ModelComparison, ArtifactJson.Options);
        w.WriteEndObject();
    }

    private static void Node(Utf8JsonWriter w, string name, System.Text.Json.Nodes.JsonNode? value)
    {
        w.WritePropertyName(name);
        if (value is null) w.WriteNullValue();
        else value.WriteTo(w);
    }
}
