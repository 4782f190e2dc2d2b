using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using CodiLab.Analysis;

namespace CodiLab.Reports;

/// <summary>
/// audit.md: per pinned phase the verdict, what changed since the pin (keys, harness, inputs), the fields that drifted,
/// then every field compared (field, pinned, rerun, delta, verdict).
/// </summary>
public static class AuditReport
{
    /// <summary>The report as Markdown.</summary>
    public static string Render(ExperimentAudit audit)
    {
        var md = new StringBuilder();
        void Line(string t = "") => md.Append(t).Append('\n');
        var verdict = audit.Passed ? "PASS" : "DRIFT";
        Line($"# Audit of {audit.Experiment}: {verdict}");
        Line();
        Line($"Spec `{audit.Spec}`, pins in `{audit.Pins}`, harness {audit.Harness}. Every pinned phase was rerun from scratch "
            + $"in an isolated artifacts folder (no cache reuse) and compared with its pin: numbers pass when {audit.Tolerance}, "
            + "any other value when it is equal.");
        Line();
        foreach (var phase in audit.Phases) Phase(phase, Line);
        return md.ToString();
    }

    private static void Phase(PhaseAudit phase, Action<string> line)
    {
        line($"## {phase.Phase}: {(phase.Passed ? "pass" : "drift")}");
        line("");
        line($"`{phase.CanonicalFile}`: {phase.Fields} fields compared, {phase.Drifted} drifted.");
        line("");
        if (phase.Notes.Count > 0)
        {
            line("Changed since the pin (the values are compared all the same):");
            line("");
            foreach (var note in phase.Notes) line($"- {note}");
            line("");
        }
        var drifted = phase.Rows.Where(r => r.Drifted).ToList();
        if (drifted.Count > 0)
        {
            line("### Drifted fields");
            line("");
            Table(drifted, line);
        }
        line("### Every field");
        line("");
        Table(phase.Rows, line);
    }

    private static void Table(IEnumerable<AuditRow> rows, Action<string> line)
    {
        line("| field | pinned | rerun | delta | verdict |");
        line("|---|---|---|---|---|");
        foreach (var r in rows)
            line($"| `{r.Field}` | {Value(r.Pinned, r.Verdict == AuditVerdict.New)} | {Value(r.Rerun, r.Verdict == AuditVerdict.Missing)} "
                + $"| {Delta(r)} | {Word(r.Verdict)} |");
        line("");
    }

    /// <summary>A value as its canonical JSON text; an absent one as an en dash.</summary>
    public static string Value(JsonNode? node, bool absent = false) =>
        absent ? "–"
        : node is null ? "null"
        : CanonicalJson.NumberOf(node) is { } d ? d.ToString("R", CultureInfo.InvariantCulture)
        : node.ToJsonString().Replace("|", "\\|", StringComparison.Ordinal);

    private static string Delta(AuditRow r) =>
        r.Delta is { } d
            ? d.ToString("R", CultureInfo.InvariantCulture)
                + (r.Drifted ? string.Create(CultureInfo.InvariantCulture, $" (> {r.Allowed:0.##########})") : "")
            : "–";

    /// <summary>The verdict's word.</summary>
    public static string Word(AuditVerdict verdict) => verdict switch
    {
        AuditVerdict.Ok => "ok",
        AuditVerdict.Drift => "**drift**",
        AuditVerdict.Missing => "**missing in rerun**",
        _ => "**new in rerun**",
    };
}
