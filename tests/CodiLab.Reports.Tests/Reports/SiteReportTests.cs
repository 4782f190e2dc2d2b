using CodiLab.Reports;
using Xunit;

namespace CodiLab.Tests.Reports;

public sealed class SiteReportTests
{
    private static ExperimentRow Row(string name, IReadOnlyDictionary<string, double> metrics) =>
        new(name, "default:tiny-llama", "generated", new string('a', 64), "synthetic train", "100", ["Phase1", "Phase2"],
            ["Phase1"], "current", "pass", new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.Zero), metrics);

    [Fact]
    public void A_headline_cell_shows_the_value_with_its_interval_or_alone_or_a_dash()
    {
        var key = SiteReport.Headlines[0].Key;
        var both = Row("a", new Dictionary<string, double> { [key] = 0.52225, [key + "_ci_low"] = 0.5, [key + "_ci_high"] = 0.54426 });
        var alone = Row("b", new Dictionary<string, double> { [key] = 0.25 });
        var none = Row("c", new Dictionary<string, double>());

        Assert.Equal("0.5223 [0.5000, 0.5443]", SiteReport.Cell(both, SiteReport.Headlines[0]));
        Assert.Equal("0.2500", SiteReport.Cell(alone, SiteReport.Headlines[0]));
        Assert.Equal("–", SiteReport.Cell(none, SiteReport.Headlines[0]));
        Assert.Equal("P1 current; verify pass 2026-11-30 09:00Z", SiteReport.PinCell(both));
        Assert.Equal("generated aaaaaaaaaaaa", SiteReport.ModelCell(both));
    }

    [Fact]
    public void The_index_escapes_names_links_each_row_to_its_section_and_says_when_there_is_nothing_yet()
    {
        var row = Row("x<y", new Dictionary<string, double>());
        var html = SiteReport.RenderIndex([new SiteExperiment(row, [new SiteLink("Phase1: report", "experiments/x/Phase1/report.html")])],
            [], "0.1.0");

        Assert.Contains("<td><a href=\"#x&lt;y\">x&lt;y</a></td>", html, StringComparison.Ordinal);
        Assert.Contains("<h3 id=\"x&lt;y\">", html, StringComparison.Ordinal);
        Assert.Contains("<a href=\"experiments/x/Phase1/report.html\">Phase1: report</a>", html, StringComparison.Ordinal);
        Assert.Contains("None yet: run <code>./build.sh --target=Compare</code>", html, StringComparison.Ordinal);
        Assert.Contains("No experiment has run yet", SiteReport.RenderIndex([], [], "0.1.0"), StringComparison.Ordinal);
    }
}
