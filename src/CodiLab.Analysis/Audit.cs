using System.Globalization;
using System.Text.Json.Nodes;

namespace CodiLab.Analysis;

/// <summary>
/// How far a rerun value may be from its pinned value: |rerun − pinned| ≤ <paramref name="Absolute"/> +
/// <paramref name="Relative"/>·|pinned|. The spec sets both (<c>audit.tolerance</c>, <c>audit.relative_tolerance</c>).
/// </summary>
public sealed record AuditTolerance(double Absolute, double Relative)
{
    /// <summary>The largest difference allowed for a pinned value.</summary>
    public double Allowed(double pinned) => Absolute + Relative * Math.Abs(pinned);

    /// <summary>The rule in words, for reports.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"|rerun − pinned| ≤ {Absolute:R} + {Relative:R}·|pinned|");
}

/// <summary>What one compared field came to.</summary>
public enum AuditVerdict
{
    /// <summary>Equal, or a number within the tolerance.</summary>
    Ok,
    /// <summary>A number beyond the tolerance, or any other value that differs.</summary>
    Drift,
    /// <summary>Pinned, but the rerun's summary has no such field.</summary>
    Missing,
    /// <summary>In the rerun's summary, but not pinned.</summary>
    New,
}

/// <summary>One leaf of a canonical summary: the pinned and rerun values, their difference (numbers) and the verdict.</summary>
/// <param name="Field">Dotted path into the summary (arrays as <c>[i]</c>).</param>
/// <param name="Pinned">The pinned value (null when absent or JSON null).</param>
/// <param name="Rerun">The rerun's value.</param>
/// <param name="Delta">rerun − pinned, when both are numbers.</param>
/// <param name="Allowed">The tolerance for this value, when both are numbers.</param>
/// <param name="Verdict">The verdict.</param>
public sealed record AuditRow(string Field, JsonNode? Pinned, JsonNode? Rerun, double? Delta, double? Allowed, AuditVerdict Verdict)
{
    /// <summary>True unless the verdict is <see cref="AuditVerdict.Ok"/>.</summary>
    public bool Drifted => Verdict != AuditVerdict.Ok;
}

/// <summary>One pinned phase re-verified: the rows, and notes on what changed since the pin (keys, harness, inputs).</summary>
/// <param name="Phase">The phase.</param>
/// <param name="CanonicalFile">The canonical summary compared.</param>
/// <param name="Fields">How many fields were compared.</param>
/// <param name="Drifted">How many of them drifted (or are missing / new).</param>
/// <param name="Notes">What differs from the pin besides values (stage keys, harness version, model or dataset hash).</param>
/// <param name="Rows">Every field.</param>
public sealed record PhaseAudit(
    string Phase, string CanonicalFile, int Fields, int Drifted, IReadOnlyList<string> Notes, IReadOnlyList<AuditRow> Rows)
{
    /// <summary>True when no field drifted.</summary>
    public bool Passed => Drifted == 0;
}

/// <summary><c>audit.json</c>: one experiment's pinned phases rerun from scratch and compared with their pins.</summary>
/// <param name="Experiment">The experiment.</param>
/// <param name="Spec">The spec it was rerun from.</param>
/// <param name="Pins">The folder holding its pins.</param>
/// <param name="Harness">The harness version of the rerun.</param>
/// <param name="Tolerance">The tolerance applied.</param>
/// <param name="Phases">Each pinned phase.</param>
public sealed record ExperimentAudit(
    string Experiment, string Spec, string Pins, string Harness, AuditTolerance Tolerance, IReadOnlyList<PhaseAudit> Phases)
{
    /// <summary>True when every phase passed.</summary>
    public bool Passed => Phases.All(p => p.Passed);
}

/// <summary>Compares a pinned canonical summary with a rerun's, field by field (pure: JSON in, rows out).</summary>
public static class CanonicalAudit
{
    /// <summary>Every leaf of either summary, in path order, with its verdict under <paramref name="tolerance"/>.</summary>
    public static IReadOnlyList<AuditRow> Compare(JsonNode? pinned, JsonNode? rerun, AuditTolerance tolerance)
    {
        var p = Leaves(pinned);
        var r = Leaves(rerun);
        var rows = new List<AuditRow>();
        foreach (var path in p.Keys.Union(r.Keys).Order(StringComparer.Ordinal))
        {
            var (hasP, hasR) = (p.TryGetValue(path, out var vp), r.TryGetValue(path, out var vr));
            if (!hasR) rows.Add(new AuditRow(path, vp, null, null, null, AuditVerdict.Missing));
            else if (!hasP) rows.Add(new AuditRow(path, null, vr, null, null, AuditVerdict.New));
            else rows.Add(Row(path, vp, vr, tolerance));
        }
        return rows;
    }

    private static AuditRow Row(string path, JsonNode? pinned, JsonNode? rerun, AuditTolerance tolerance)
    {
        if (CanonicalJson.NumberOf(pinned) is { } x && CanonicalJson.NumberOf(rerun) is { } y)
        {
            // Rounded so that the difference of two 4-decimal values prints as such, not with binary noise.
            var delta = Math.Round(y - x, 10);
            var allowed = tolerance.Allowed(x);
            var verdict = Math.Abs(y - x) <= allowed ? AuditVerdict.Ok : AuditVerdict.Drift;
            return new AuditRow(path, pinned, rerun, delta, allowed, verdict);
        }
        var same = JsonNode.DeepEquals(pinned, rerun);
        return new AuditRow(path, pinned, rerun, null, null, same ? AuditVerdict.Ok : AuditVerdict.Drift);
    }

    // Dotted paths without the leading dot Flatten gives the root's children; a scalar root is the field "", no summary
    // at all (a phase that did not run) has no fields.
    private static Dictionary<string, JsonNode?> Leaves(JsonNode? node)
    {
        var all = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        if (node is null) return all;
        Comparisons.Flatten("", node, all);
        return all.ToDictionary(kv => kv.Key.TrimStart('.'), kv => kv.Value, StringComparer.Ordinal);
    }
}
