using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using CodiLab.Analysis;
using CodiLab.Specs;
using Snapshooter;
using Snapshooter.Xunit;

namespace CodiLab.Tests.Support;

/// <summary>
/// Pins a canonical summary with Snapshooter, tolerating last-digit noise: numbers within
/// <see cref="Absolute"/> + <see cref="Relative"/>·|pinned| of the pinned snapshot are replaced by the pinned
/// value before matching (different CPUs round a 4th decimal differently, and 4th-moment statistics amplify
/// last-bit differences); anything further off, any other change, or a missing snapshot in strict mode fails.
/// </summary>
public static class Pins
{
    /// <summary>Absolute tolerance: the default of the spec's <c>audit.tolerance</c>, which verify's audit applies to pins.</summary>
    public static readonly double Absolute = (double)SpecSchema.Find("audit.tolerance")!.Default!;

    /// <summary>Relative tolerance: the default of <c>audit.relative_tolerance</c>.</summary>
    public static readonly double Relative = (double)SpecSchema.Find("audit.relative_tolerance")!.Default!;

    /// <summary>Matches canonical JSON text against the test's snapshot named with <paramref name="name"/>.</summary>
    public static void Match(string canonical, string name, [CallerFilePath] string file = "", [CallerMemberName] string member = "")
    {
        var snap = Path.Combine(Path.GetDirectoryName(file)!, "__snapshots__", $"{Path.GetFileNameWithoutExtension(file)}.{member}_{name}.snap");
        var actual = JsonNode.Parse(canonical);
        if (File.Exists(snap) && JsonNode.Parse(File.ReadAllText(snap).TrimStart('\uFEFF')) is { } pinned)
            actual = Snap(actual, pinned);
        CanonicalJson.Text(actual!).MatchSnapshot(SnapshotNameExtension.Create(name));
    }

    private static JsonNode? Snap(JsonNode? actual, JsonNode? pinned) => (actual, pinned) switch
    {
        (JsonObject a, JsonObject p) => new JsonObject(a.Select(kv => KeyValuePair.Create(kv.Key, p.ContainsKey(kv.Key) ? Snap(kv.Value, p[kv.Key]) : kv.Value?.DeepClone()))),
        (JsonArray a, JsonArray p) => new JsonArray([.. a.Select((v, i) => i < p.Count ? Snap(v, p[i]) : v?.DeepClone())]),
        (JsonValue a, JsonValue p) when CanonicalJson.NumberOf(a) is { } x && CanonicalJson.NumberOf(p) is { } y && Math.Abs(x - y) <= Absolute + Relative * Math.Abs(y) => p.DeepClone(),
        _ => actual?.DeepClone(),
    };
}
