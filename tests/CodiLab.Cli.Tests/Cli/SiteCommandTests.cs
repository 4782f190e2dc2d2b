using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Cli;

/// <summary>
/// Two small experiments (the tiny defaults on 8 problems, Phase 1) and their comparison, run once through the command line;
/// then <c>experiments</c> and <c>site</c> on them.
/// </summary>
public sealed class SiteExperiments : IDisposable
{
    /// <summary>Runs both experiments and the comparison.</summary>
    public SiteExperiments()
    {
        Llama = Dir.Write("site-llama.yaml", "extends: default:tiny-llama\nname: site-llama\ndataset: { sample: 8 }\nphases: [Phase1]\n");
        Gpt2 = Dir.Write("site-gpt2.yaml", "extends: default:tiny-gpt2\nname: site-gpt2\ndataset: { sample: 8 }\nphases: [Phase1]\n");
        foreach (var spec in new[] { Llama, Gpt2 }) Ok("run", spec);
        Ok("compare", Llama, Gpt2);
        Directory.CreateDirectory(Pins);
    }

    public TempFolder Dir { get; } = new();

    public string Llama { get; }

    public string Gpt2 { get; }

    public string Artifacts => Path.Combine(Dir.Path, "artifacts");

    /// <summary>An empty pins folder: nothing pinned, so verify only rehashes.</summary>
    public string Pins => Path.Combine(Dir.Path, "pins");

    public (int Code, string Out, string Error) Invoke(params string[] args) => CliRun.Invoke(Artifacts, args);

    public string Ok(params string[] args)
    {
        var (code, output, error) = Invoke(args);
        Assert.True(code == 0, $"codilab {string.Join(' ', args)}: exit {code}: {error}");
        return output;
    }

    public void Dispose() => Dir.Dispose();
}

public sealed partial class SiteCommandTests(SiteExperiments fixture) : IClassFixture<SiteExperiments>
{
    private readonly SiteExperiments _x = fixture;

    [Fact]
    public void Experiments_json_has_one_row_per_experiment_and_sorts_by_a_metric()
    {
        var rows = JsonNode.Parse(_x.Ok("experiments", "--json", "--pins", _x.Pins, "--sort", "seed seq:desc"))!.AsArray();

        Assert.Equal(["site-gpt2", "site-llama"], rows.Select(r => r!["experiment"]!.GetValue<string>()).Order());
        var values = rows.Select(r => r!["metrics"]!["phase1.evidence.seed.avg_sequential"]!.GetValue<double>()).ToList();
        Assert.Equal(values.OrderDescending(), values);
        Assert.All(rows, r => Assert.Equal("Phase1", Assert.Single(r!["phases"]!.AsArray())!.GetValue<string>()));
        Assert.All(rows, r => Assert.Equal(64, r!["model_sha256"]!.GetValue<string>().Length));
        var bad = _x.Invoke("experiments", "--sort", "nonsense");
        Assert.Equal(ExitCodes.InvalidSpec, bad.Code);
        Assert.Contains("--sort: error: --sort 'nonsense' is neither a column nor a metric", bad.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Experiments_prints_a_table_with_the_headline_intervals()
    {
        var table = _x.Ok("experiments", "--pins", _x.Pins);

        Assert.Contains("experiment", table, StringComparison.Ordinal);
        Assert.Contains("seed seq", table, StringComparison.Ordinal);
        Assert.Matches(@"site-llama .*synthetic train .* 8 .* P1 .* \d\.\d{4} \[\d\.\d{4}, \d\.\d{4}\]", table);
        Assert.DoesNotContain("\u001b[", table, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_leaves_the_flat_files_alone_and_clean_removes_them_with_the_experiment()
    {
        _x.Ok("experiments", "--pins", _x.Pins);
        var metrics = Path.Combine(_x.Artifacts, "site-gpt2", "metrics.json");
        var before = File.ReadAllText(metrics);

        var (code, _, error) = _x.Invoke("verify", "--pins", _x.Pins);

        Assert.True(code == 0, error);
        Assert.Equal(before, File.ReadAllText(metrics));
        Assert.Contains("phase1.evidence.seed.avg_sequential_ci_low", before, StringComparison.Ordinal);
    }

    [Fact]
    public void The_site_is_closed_every_link_and_image_of_every_page_is_a_file_inside_it()
    {
        var output = _x.Ok("site", "--pins", _x.Pins);
        var site = Path.Combine(_x.Artifacts, "site");

        Assert.Contains("(2 experiment(s), 3 report page(s))", output, StringComparison.Ordinal);
        var pages = Directory.GetFiles(site, "*.html", SearchOption.AllDirectories);
        Assert.Equal(4, pages.Length); // the index, two Phase 1 reports, the comparison
        var checkedLinks = 0;
        foreach (var page in pages)
        {
            foreach (var link in Links(File.ReadAllText(page)))
            {
                Assert.False(Regex.IsMatch(link, "^[a-zA-Z][a-zA-Z0-9+.-]*:") && !link.StartsWith("data:", StringComparison.Ordinal),
                    $"{page} loads {link} from outside the site");
                if (link.StartsWith('#') || link.StartsWith("data:", StringComparison.Ordinal)) continue;
                var target = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, Uri.UnescapeDataString(link.Split('#')[0])));
                Assert.True(target.StartsWith(site + Path.DirectorySeparatorChar, StringComparison.Ordinal), $"{page}: {link} leaves the site");
                Assert.True(File.Exists(target), $"{page}: {link} names no file");
                checkedLinks++;
            }
        }
        Assert.True(checkedLinks >= 9, $"only {checkedLinks} links checked");
        var compare = File.ReadAllText(Path.Combine(site, "compare", "site-llama-vs-site-gpt2", "compare.html"));
        Assert.Equal(3, Regex.Matches(compare, "<img src=\"data:image/png;base64,").Count);
    }

    [ChromiumFact]
    public void Headless_chromium_renders_the_experiments_table_and_loads_every_resource()
    {
        _x.Ok("site", "--pins", _x.Pins);
        var index = Path.Combine(_x.Artifacts, "site", "index.html");
        var screenshot = Path.Combine(_x.Dir.Path, "site.png");

        var (dom, log) = Chromium.Load(index, screenshot);

        var table = Regex.Match(dom, "<table id=\"experiments\">.*?</table>", RegexOptions.Singleline).Value;
        Assert.Equal(2, Regex.Matches(table, "<tr>").Count - 1); // the header row, then one per experiment
        Assert.Contains(">site-llama</a>", table, StringComparison.Ordinal);
        Assert.DoesNotContain("Failed to load resource", log, StringComparison.Ordinal);
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot is (nearly) empty");
        foreach (var page in Directory.GetFiles(Path.Combine(_x.Artifacts, "site", "compare"), "*.html", SearchOption.AllDirectories))
        {
            var (pageDom, pageLog) = Chromium.Load(page, null);
            Assert.DoesNotContain("Failed to load resource", pageLog, StringComparison.Ordinal);
            Assert.Equal(3, Regex.Matches(pageDom, "<img ").Count);
        }
    }

    [ChromiumFact]
    public void The_chromium_check_does_catch_a_missing_image()
    {
        var page = _x.Dir.Write("broken/index.html", "<!DOCTYPE html><html><body><img src=\"figures/gone.png\"></body></html>");

        var (_, log) = Chromium.Load(page, null);

        Assert.Contains("Failed to load resource", log, StringComparison.Ordinal);
    }

    // Every href and src value of a page, HTML-decoded.
    private static IEnumerable<string> Links(string html) =>
        LinkPattern().Matches(html).Select(m => WebUtility.HtmlDecode(m.Groups[2].Value));

    [GeneratedRegex("(href|src)=\"([^\"]*)\"")]
    private static partial Regex LinkPattern();
}

/// <summary>A fact that needs Debian's chromium on PATH; skipped (saying so) where it is not installed.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (Chromium.Path is null) Skip = "chromium is not installed (apt-get install chromium); the headless browser check did not run";
    }
}

/// <summary>Headless chromium: the DOM of a local page after it loaded, and its console log (failed resources show there).</summary>
internal static class Chromium
{
    public static string? Path { get; } = Find();

    private static string? Find() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator)
            .SelectMany(dir => new[] { "chromium", "chromium-browser" }.Select(name => System.IO.Path.Combine(dir, name)))
            .FirstOrDefault(File.Exists);

    public static (string Dom, string Log) Load(string page, string? screenshot)
    {
        var profile = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "codilab-chromium-" + Guid.NewGuid().ToString("N")[..8]);
        var url = new Uri(page).AbsoluteUri;
        string[] common = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr", "--v=0",
            $"--user-data-dir={profile}", "--window-size=1280,900"];
        try
        {
            var (dom, log) = Run([.. common, "--dump-dom", url]);
            if (screenshot is not null) log += Run([.. common, $"--screenshot={screenshot}", url]).Log;
            return (dom, log);
        }
        finally
        {
            if (Directory.Exists(profile)) Directory.Delete(profile, recursive: true);
        }
    }

    private static (string Out, string Log) Run(string[] args)
    {
        var start = new ProcessStartInfo(Path!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"chromium {string.Join(' ', args)} did not finish in 120 s");
        }
        return (output, error.Result);
    }
}
