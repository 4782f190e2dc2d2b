using System.Text.Json;
using System.Text.Json.Nodes;

namespace CodiLab.Analysis;

/// <summary>
/// The canonical form of a summary, the one pinned by snapshot tests: object keys sorted (ordinal), numbers
/// rounded to a fixed number of decimals (so last-bit differences between CPUs do not show), NaN as null.
/// </summary>
public static class CanonicalJson
{
    /// <summary>Decimals kept.</summary>
    public const int Decimals = 4;

    /// <summary>A canonical copy of a node.</summary>
    public static JsonNode? Of(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(
            o.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, Of(kv.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Of)]),
        JsonValue v when NumberOf(v) is { } number => Round(number),
        JsonValue v when v.TryGetValue<double>(out var d) => Round(d), // NaN / infinity held as doubles
        null => null,
        _ => node.DeepClone(),
    };

    private static JsonNode? Round(double d)
    {
        if (double.IsNaN(d) || double.IsInfinity(d)) return null;
        var r = Math.Round(d, Decimals, MidpointRounding.ToEven);
        return r == Math.Floor(r) && Math.Abs(r) < 1e15 ? JsonValue.Create((long)r) : JsonValue.Create(r == 0 ? 0.0 : r);
    }

    /// <summary>
    /// The value of a JSON number whatever .NET type holds it (nodes built in memory hold ints, longs, floats;
    /// GetValue&lt;double&gt; fails on those), or null when the node is not a number.
    /// </summary>
    public static double? NumberOf(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number
            ? double.Parse(v.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture)
            : null;

    /// <summary>Indented text of the canonical form.</summary>
    public static string Text(JsonNode node) => Of(node)!.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}
