using System.Globalization;
using System.Text.RegularExpressions;
using Markdig;

namespace CodiLab.Reports;

/// <summary>Number formatting and Markdown → HTML shared by every report.</summary>
public static partial class ReportFormat
{
    /// <summary>A number with a fixed format; NaN as an en dash.</summary>
    public static string F(double v, string format = "0.0000") =>
        double.IsNaN(v) ? "–" : v.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>A nullable number; null as an en dash.</summary>
    public static string F(double? v, string format = "0.0000") => v is { } d ? F(d, format) : "–";

    /// <summary>
    /// A float32 as the JSON file holds it (shortest round-trip text, read back as a double), so that a value
    /// printed from the typed artifact rounds exactly as one printed from the file would.
    /// </summary>
    public static double AsWritten(float value) => double.Parse(value.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>A value with its 95% interval: "0.1234 [0.1100, 0.1300]".</summary>
    public static string CI(CodiLab.Analysis.Interval i, string format = "0.0000") =>
        $"{F(i.Value, format)} [{F(i.Low, format)}, {F(i.High, format)}]";

    /// <summary>A rank with its 95% interval: "3 [2, 5]".</summary>
    public static string Rank(CodiLab.Analysis.Interval i) => $"{F(i.Value, "0")} [{F(i.Low, "0")}, {F(i.High, "0")}]";

    /// <summary>A boolean as JSON writes it.</summary>
    public static string B(bool value) => value ? "true" : "false";

    /// <summary>
    /// The HTML copy of a Markdown report, every <c>figures/…</c> image embedded as a data URI; the title is the prefix
    /// and the encoded name.
    /// </summary>
    public static string Html(string markdown, string titlePrefix, string name, Func<string, byte[]> figure)
    {
        var body = Markdown.ToHtml(markdown, new MarkdownPipelineBuilder().UseAdvancedExtensions().Build());
        body = ImagePattern().Replace(body, m => $"src=\"data:image/png;base64,{Convert.ToBase64String(figure(m.Groups[1].Value))}\"");
        return $"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{titlePrefix}{System.Net.WebUtility.HtmlEncode(name)}</title>"
            + "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse}"
            + "td,th{border:1px solid #ccc;padding:2px 8px}"
            + "img{max-width:100%}</style></head><body>\n" + body + "</body></html>\n";
    }

    [GeneratedRegex("src=\"(figures/[^\"]+)\"")]
    private static partial Regex ImagePattern();
}
