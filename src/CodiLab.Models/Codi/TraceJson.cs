using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CodiLab.Models.Interventions;

namespace CodiLab.Models.Codi;

/// <summary>
/// The trace JSON of docs/model-folder.md#trace-json, laid out like the entries of the reference fixtures' <c>reference.json</c>:
/// question, input_ids, attention{bot, z1..zN}[layer][head][key], logit_lens_top1, answer_ids, answer_text,
/// latent_norms. Attention values are written with 7 significant digits, as the reference writes them.
/// </summary>
public static class TraceJson
{
    /// <summary>One trace as a JSON object.</summary>
    public static JsonObject ToJson(TraceResult trace)
    {
        var attention = new JsonObject();
        foreach (var (query, layers) in trace.Attention)
            attention[query] = new JsonArray([.. layers.Select(heads =>
                new JsonArray([.. heads.Select(row => new JsonArray([.. row.Select(v => (JsonNode)Round7(v))]))]))]);
        var json = new JsonObject
        {
            ["question"] = trace.Question,
            ["input_ids"] = Ints(trace.InputIds),
            ["attention"] = attention,
            ["logit_lens_top1"] = Ints(trace.LogitLensTop1),
            ["answer_ids"] = Ints(trace.AnswerIds),
            ["answer_text"] = trace.AnswerText,
            ["latent_norms"] = new JsonArray([.. trace.LatentNorms.Select(n => (JsonNode)Round7(n))]),
        };
        // Fields of intervened traces only, so a plain trace keeps the reference's exact layout.
        if (trace.Interventions is { Count: > 0 } applied)
            json["interventions"] = new JsonArray([.. applied.Select(i => (JsonNode)InterventionText.ToJson(i))]);
        if (trace.GoldLogProb is { } gold) json["gold_logprob"] = gold;
        return json;
    }

    /// <summary>Writes one trace (or several, as a list) to a file, replacing it atomically.</summary>
    public static void Write(string path, IReadOnlyList<TraceResult> traces)
    {
        JsonNode node = traces.Count == 1 ? ToJson(traces[0]) : new JsonArray([.. traces.Select(t => (JsonNode)ToJson(t))]);
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".tmp-" + Environment.ProcessId;
        File.WriteAllText(temp, node.ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
        File.Move(temp, full, overwrite: true);
    }

    /// <summary>Reads the questions of a reference.json (or a list of traces, or one trace) as traces.</summary>
    public static IReadOnlyList<TraceResult> Read(string path)
    {
        var root = JsonNode.Parse(File.ReadAllText(path))
            ?? throw new ModelFormatException("the file is empty.", path, "give a trace or reference JSON file.");
        var entries = root is JsonObject o && o["questions"] is JsonArray q ? q : root as JsonArray ?? new JsonArray(root.DeepClone());
        return [.. entries.Select(e => FromJson(e!.AsObject()))];
    }

    private static TraceResult FromJson(JsonObject e)
    {
        var attention = e["attention"]!.AsObject().ToDictionary(
            kv => kv.Key,
            kv => kv.Value!.AsArray()
                .Select(l => l!.AsArray().Select(h => h!.AsArray().Select(v => v!.GetValue<float>()).ToArray()).ToArray())
                .ToArray(),
            StringComparer.Ordinal);
        var norms = e["latent_norms"]?.AsArray().Select(v => v!.GetValue<float>()).ToArray() ?? [];
        return new TraceResult(
            e["question"]!.GetValue<string>(), IntsOf(e["input_ids"]), attention, IntsOf(e["logit_lens_top1"]),
            IntsOf(e["answer_ids"]), e["answer_text"]?.GetValue<string>() ?? "", norms);
    }

    private static int[] IntsOf(JsonNode? node) => node?.AsArray().Select(v => v!.GetValue<int>()).ToArray() ?? [];

    private static JsonArray Ints(IEnumerable<int> ids) => new([.. ids.Select(i => (JsonNode)i)]);

    // Seven significant digits, as the reference's r7 (float(f"{v:.7g}")).
    private static double Round7(float v) =>
        double.Parse(((double)v).ToString("G7", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
