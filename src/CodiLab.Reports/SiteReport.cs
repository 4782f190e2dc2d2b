using System.Globalization;
using System.Net;
using System.Text;

namespace CodiLab.Reports;

/// <summary>
/// One experiment found under the artifacts folder, as <c>codilab experiments</c> and the site's table show it.
/// </summary>
/// <param name="Experiment">The experiment (its folder name).</param>
/// <param name="Spec">The spec it was last run from, as its lock file names it.</param>
/// <param name="Model"><c>generated</c> or <c>checkpoint</c>; null when no model stage or extraction ran.</param>
/// <param name="ModelSha256">The model's hash, as pins hold it; null when unknown.</param>
/// <param name="Dataset">Source and split, e.g. <c>synthetic test</c>.</param>
/// <param name="Sample">The sample size as the spec gave it (a count or <c>all</c>).</param>
/// <param name="Phases">The phases whose report stage ran (in phase order).</param>
/// <param name="Pinned">The phases with a pin file.</param>
/// <param name="Pins">
/// <c>none</c>; <c>current</c> when every pin's stage keys are the lock file's; <c>differs</c> when the results on disk are
/// not the pinned ones (a changed spec, harness or input).
/// </param>
/// <param name="Verified">The last audit (<c>verify</c>): <c>pass</c>, <c>drift</c>, or <c>never</c>.</param>
/// <param name="VerifiedAt">When that audit was written (UTC), when there is one.</param>
/// <param name="Metrics">Every flat metric (metrics.json): key → value; an interval adds <c>KEY_ci_low</c>, <c>KEY_ci_high</c>.</param>
public sealed record ExperimentRow(
    string Experiment, string Spec, string? Model, string? ModelSha256, string? Dataset, string? Sample,
    IReadOnlyList<string> Phases, IReadOnlyList<string> Pinned, string Pins, string Verified, DateTimeOffset? VerifiedAt,
    IReadOnlyDictionary<string, double> Metrics);

/// <summary>A headline column: its short label, the flat metric key it shows and what it means.</summary>
public sealed record Headline(string Label, string Key, string Meaning);

/// <summary>A link on the site: its text and a path relative to the page.</summary>
public sealed record SiteLink(string Label, string Href);

/// <summary>What the index lists under one experiment: its row and links to its reports, audit and flat files.</summary>
public sealed record SiteExperiment(ExperimentRow Row, IReadOnlyList<SiteLink> Links);

/// <summary>
/// The static report site: <c>index.html</c> with the experiments table (like <c>dvc exp show</c>) and links to every
/// experiment's reports, comparisons and audits, and the HTML page of a Markdown report. Every link is relative and every
/// figure embedded, so the folder works from a file browser, as a CI artifact or as a Pages upload, with no network.
/// </summary>
public static class SiteReport
{
    /// <summary>
    /// The headline columns, in table order: Phase 1 scores with their bootstrap intervals (evidence.json), the Phase 2
    /// strongest composite head score, the Phase 3 baseline accuracy with its Wilson interval.
    /// </summary>
    public static readonly IReadOnlyList<Headline> Headlines =
    [
        new("hub ratio", "phase1.evidence.seed.hub_ratio_to_one_sixth", "seed hub score over the 1/6 a uniform hub would get"),
        new("seed seq", "phase1.evidence.seed.avg_sequential", "seed matrix: mean attention from thought k to k−1"),
        new("seed skip", "phase1.evidence.seed.avg_skip", "seed matrix: mean attention to thoughts two or more back"),
        new("latent seq", "phase1.evidence.latent.avg_sequential", "latent view: mean α from z_a to z_(a−1)"),
        new("top composite", "phase2.seed.scores.composite.max", "Phase 2: the strongest head's composite score"),
        new("P3 baseline acc", "phase3.baseline.accuracy", "Phase 3: baseline accuracy on its problem set"),
    ];

    /// <summary>A headline cell: <c>0.1234 [0.1100, 0.1300]</c>, the value alone without interval, or an en dash.</summary>
    public static string Cell(ExperimentRow row, Headline headline)
    {
        if (!row.Metrics.TryGetValue(headline.Key, out var value)) return "–";
        var text = ReportFormat.F(value);
        return row.Metrics.TryGetValue(headline.Key + "_ci_low", out var low) && row.Metrics.TryGetValue(headline.Key + "_ci_high", out var high)
            ? $"{text} [{ReportFormat.F(low)}, {ReportFormat.F(high)}]"
            : text;
    }

    /// <summary>The model cell: source and the hash's first 12 characters.</summary>
    public static string ModelCell(ExperimentRow row) =>
        row.Model is null ? "–" : row.ModelSha256 is { Length: >= 12 } hash ? $"{row.Model} {hash[..12]}" : row.Model;

    /// <summary>The pinned/verified cell: the pinned phases, whether the results are still the pinned ones, the last audit.</summary>
    public static string PinCell(ExperimentRow row) =>
        row.Pinned.Count == 0 ? "not pinned"
        : $"{string.Join(",", row.Pinned.Select(Short))} {row.Pins}; verify {row.Verified}"
            + (row.VerifiedAt is { } at ? at.ToString(" yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture) : "");

    /// <summary><c>Phase1</c> → <c>P1</c>.</summary>
    public static string Short(string phase) => phase.StartsWith("Phase", StringComparison.Ordinal) ? "P" + phase[5..] : phase;

    /// <summary>The table's header and one row per experiment, as plain strings (the CLI and the site share them).</summary>
    public static (IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows) Table(IReadOnlyList<ExperimentRow> rows)
    {
        IReadOnlyList<string> header =
            ["experiment", "spec", "model", "dataset", "sample", "phases", .. Headlines.Select(h => h.Label), "pinned / verified"];
        var cells = rows.Select(r => (IReadOnlyList<string>)
            [
                r.Experiment, r.Spec, ModelCell(r), r.Dataset ?? "–", r.Sample ?? "–",
                r.Phases.Count == 0 ? "–" : string.Join(",", r.Phases.Select(Short)),
                .. Headlines.Select(h => Cell(r, h)), PinCell(r),
            ]).ToList();
        return (header, cells);
    }

    /// <summary><c>index.html</c>: the experiments table, each experiment's links, the comparisons.</summary>
    public static string RenderIndex(IReadOnlyList<SiteExperiment> experiments, IReadOnlyList<SiteLink> comparisons, string harness)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>CodiLab experiments</title>")
            .Append("<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;font-size:90%}")
            .Append("td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f2f2f2}")
            .Append("td.num{font-family:monospace;white-space:nowrap}.ci{color:#555;font-size:85%}.muted{color:#666}")
            .Append(".wide{overflow-x:auto}</style></head><body>\n")
            .Append("<h1>CodiLab experiments</h1>\n")
            .Append(CultureInfo.InvariantCulture, $"<p class=\"muted\">{experiments.Count} experiment(s) under the artifacts folder, ")
            .Append(CultureInfo.InvariantCulture, $"harness {E(harness)}. Intervals are 95% (bootstrap; Wilson for accuracy).</p>\n");
        Table(html, experiments);
        html.Append("<h2>Reports</h2>\n");
        if (experiments.Count == 0) html.Append("<p>No experiment has run yet: run <code>./build.sh --target=Phase1</code>.</p>\n");
        foreach (var e in experiments)
        {
            html.Append(CultureInfo.InvariantCulture, $"<h3 id=\"{E(e.Row.Experiment)}\">{E(e.Row.Experiment)}</h3>\n");
            Links(html, e.Links);
        }
        html.Append("<h2>Comparisons</h2>\n");
        if (comparisons.Count == 0) html.Append("<p>None yet: run <code>./build.sh --target=Compare</code>.</p>\n");
        else Links(html, comparisons);
        html.Append("<h2>Columns</h2>\n<ul>\n");
        foreach (var h in Headlines) html.Append(CultureInfo.InvariantCulture, $"<li><b>{E(h.Label)}</b> (<code>{E(h.Key)}</code>): {E(h.Meaning)}</li>\n");
        html.Append("<li><b>pinned / verified</b>: the pinned phases; <i>current</i> when the results on disk are the pinned ones, ")
            .Append("<i>differs</i> otherwise; then the last <code>verify</code> audit</li>\n</ul>\n</body></html>\n");
        return html.ToString();
    }

    private static void Table(StringBuilder html, IReadOnlyList<SiteExperiment> experiments)
    {
        var (header, rows) = Table(experiments.Select(e => e.Row).ToList());
        html.Append("<div class=\"wide\"><table id=\"experiments\">\n<thead><tr>");
        foreach (var h in header) html.Append("<th>").Append(E(h)).Append("</th>");
        html.Append("</tr></thead>\n<tbody>\n");
        foreach (var row in rows)
        {
            html.Append("<tr>");
            for (var i = 0; i < row.Count; i++)
            {
                var text = E(row[i]);
                if (i == 0) html.Append(CultureInfo.InvariantCulture, $"<td><a href=\"#{text}\">{text}</a></td>");
                else if (i >= 6 && i < 6 + Headlines.Count) html.Append("<td class=\"num\">").Append(text.Replace(" [", "<br><span class=\"ci\">[",
                    StringComparison.Ordinal)).Append(text.Contains(" [", StringComparison.Ordinal) ? "</span></td>" : "</td>");
                else html.Append("<td>").Append(text).Append("</td>");
            }
            html.Append("</tr>\n");
        }
        html.Append("</tbody>\n</table></div>\n");
    }

    private static void Links(StringBuilder html, IReadOnlyList<SiteLink> links)
    {
        html.Append("<ul>\n");
        foreach (var link in links) html.Append(CultureInfo.InvariantCulture, $"<li><a href=\"{E(link.Href)}\">{E(link.Label)}</a></li>\n");
        html.Append("</ul>\n");
    }

    /// <summary>
    /// The HTML page of a Markdown report (comparisons, audits, Phase 2), its <c>figures/…</c> images embedded; a link back
    /// to the index at the top, <paramref name="home"/> being its path relative to the page.
    /// </summary>
    public static string Page(string markdown, string title, string home, Func<string, byte[]> figure) =>
        ReportFormat.Html($"[← all experiments]({home})\n\n" + markdown, "", title, figure);

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
