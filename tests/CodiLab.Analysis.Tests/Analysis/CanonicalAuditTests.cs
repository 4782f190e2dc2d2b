using System.Text.Json.Nodes;
using CodiLab.Analysis;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>The field-by-field comparison verify's audit makes between a pinned canonical summary and a rerun's.</summary>
public sealed class CanonicalAuditTests
{
    private static readonly AuditTolerance Tolerance = new(5e-4, 1e-3);

    private static JsonNode Json(string text) => JsonNode.Parse(text)!;

    [Fact]
    public void Equal_summaries_give_one_ok_row_per_leaf_with_zero_deltas()
    {
        var summary = Json("""{"b": {"x": 0.25, "flag": true}, "a": [1, "z1"], "n": null}""");

        var rows = CanonicalAudit.Compare(summary, summary.DeepClone(), Tolerance);

        Assert.Equal(["a[0]", "a[1]", "b.flag", "b.x", "n"], rows.Select(r => r.Field));
        Assert.All(rows, r => Assert.Equal(AuditVerdict.Ok, r.Verdict));
        Assert.Equal([0.0, 0.0], rows.Where(r => r.Delta is not null).Select(r => r.Delta!.Value));
    }

    [Theory]
    // allowed = 5e-4 + 1e-3 * |pinned|: for pinned 2.0 that is 0.0025.
    [InlineData(2.0, 2.0024, AuditVerdict.Ok)]
    [InlineData(2.0, 1.9976, AuditVerdict.Ok)]
    [InlineData(2.0, 2.0026, AuditVerdict.Drift)]
    [InlineData(0.0, 0.0004, AuditVerdict.Ok)]
    [InlineData(0.0, 0.0006, AuditVerdict.Drift)]
    [InlineData(-3.0, -3.003, AuditVerdict.Ok)]
    public void A_number_passes_within_the_absolute_plus_relative_tolerance_and_drifts_beyond(double pinned, double rerun, AuditVerdict verdict)
    {
        var row = Assert.Single(CanonicalAudit.Compare(new JsonObject { ["v"] = pinned }, new JsonObject { ["v"] = rerun }, Tolerance));

        Assert.Equal(verdict, row.Verdict);
        Assert.Equal(Math.Round(rerun - pinned, 10), row.Delta);
        Assert.Equal(5e-4 + 1e-3 * Math.Abs(pinned), row.Allowed!.Value, 12);
    }

    [Fact]
    public void The_spec_tolerance_replaces_the_default()
    {
        var pinned = Json("""{"v": 0.5}""");
        var rerun = Json("""{"v": 0.51}""");

        Assert.Equal(AuditVerdict.Drift, CanonicalAudit.Compare(pinned, rerun, Tolerance).Single().Verdict);
        Assert.Equal(AuditVerdict.Ok, CanonicalAudit.Compare(pinned, rerun, new AuditTolerance(0.02, 0)).Single().Verdict);
    }

    [Fact]
    public void Other_values_must_be_equal_and_missing_or_new_fields_are_drift()
    {
        var pinned = Json("""{"strong": true, "head": "L1H2", "gone": 1, "n": null}""");
        var rerun = Json("""{"strong": false, "head": "L1H2", "added": 2, "n": 0.5}""");

        var rows = CanonicalAudit.Compare(pinned, rerun, Tolerance).ToDictionary(r => r.Field);

        Assert.Equal(AuditVerdict.New, rows["added"].Verdict);
        Assert.Equal(AuditVerdict.Missing, rows["gone"].Verdict);
        Assert.Equal(AuditVerdict.Ok, rows["head"].Verdict);
        Assert.Equal(AuditVerdict.Drift, rows["strong"].Verdict);
        Assert.Equal(AuditVerdict.Drift, rows["n"].Verdict); // NaN (null in canonical form) became a number
        Assert.Null(rows["n"].Delta);
    }

    [Fact]
    public void A_phase_not_rerun_has_every_pinned_field_missing()
    {
        var rows = CanonicalAudit.Compare(Json("""{"a": 1, "b": [2, 3]}"""), null, Tolerance);

        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.Equal(AuditVerdict.Missing, r.Verdict));
    }
}
