using System.Text.Json.Nodes;
using CodiLab.Analysis;
using CodiLab.Reports;
using Xunit;

namespace CodiLab.Tests.Reports;

public sealed class AuditReportTests
{
    [Fact]
    public void Audit_md_lists_the_drifted_fields_first_with_pinned_rerun_delta_and_the_notes()
    {
        var tolerance = new AuditTolerance(5e-4, 1e-3);
        var rows = CanonicalAudit.Compare(
            JsonNode.Parse("""{"hub": {"score": 0.25, "strong": true}, "kind": "a|b"}"""),
            JsonNode.Parse("""{"hub": {"score": 0.75, "strong": true}, "kind": "a|b"}"""), tolerance);
        var audit = new ExperimentAudit("exp", "experiments/exp.yaml", "experiments/pins", "0.1.0", tolerance,
            [new PhaseAudit("Phase1", "phase1_summary.canonical.json", rows.Count, rows.Count(r => r.Drifted), ["harness version: 0.0.9 when pinned"], rows)]);

        var md = AuditReport.Render(audit);

        Assert.StartsWith("# Audit of exp: DRIFT", md, StringComparison.Ordinal);
        Assert.Contains("## Phase1: drift", md, StringComparison.Ordinal);
        Assert.Contains("- harness version: 0.0.9 when pinned", md, StringComparison.Ordinal);
        const string row = "| `hub.score` | 0.25 | 0.75 | 0.5 (> 0.00075) | **drift** |";
        var drifted = md.IndexOf("### Drifted fields", StringComparison.Ordinal);
        var every = md.IndexOf("### Every field", StringComparison.Ordinal);
        Assert.InRange(md.IndexOf(row, StringComparison.Ordinal), drifted, every);
        Assert.Contains("| `hub.strong` | true | true | – | ok |", md, StringComparison.Ordinal);
        Assert.Contains("| `kind` | \"a\\|b\" | \"a\\|b\" | – | ok |", md, StringComparison.Ordinal); // a '|' cannot break the table
        Assert.Equal(2, md.Split(row).Length - 1);
    }
}
