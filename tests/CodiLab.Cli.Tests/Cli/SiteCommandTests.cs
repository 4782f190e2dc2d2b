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
    public void Headless_chromium_renders_the_experiments_table_and_loads_every_image()
    {
        _x.Ok("site", "--pins", _x.Pins);
        var index = Path.Combine(_x.Artifacts, "site", "index.html");
        var screenshot = Path.Combine(_x.Dir.Path, "site.png");

        var loaded = Chromium.Load(index, screenshot);

        var table = Regex.Match(loaded.Dom, "<table id=\"experiments\">.*?</table>", RegexOptions.Singleline).Value;
        Assert.Equal(2, Regex.Matches(table, "<tr>").Count - 1); // the header row, then one per experiment
        Assert.Contains(">site-llama</a>", table, StringComparison.Ordinal);
        Assert.Empty(loaded.BrokenImages);
        Assert.DoesNotContain("Uncaught", loaded.Log, StringComparison.Ordinal);
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot is (nearly) empty");
        var pages = Directory.GetFiles(Path.Combine(_x.Artifacts, "site"), "*.html", SearchOption.AllDirectories).Where(p => p != index).ToList();
        Assert.Equal(3, pages.Count);
        var images = 0;
        foreach (var page in pages)
        {
            var report = Chromium.Load(page, null);
            Assert.True(report.BrokenImages.Count == 0, $"{page}: {string.Join(", ", report.BrokenImages)} did not load");
            images += report.Images;
        }
        Assert.True(images >= 3 + 2 * 6, $"only {images} images in the report pages"); // the comparison's 3, six per Phase 1 report
    }

    [ChromiumFact]
    public void The_chromium_check_does_catch_a_missing_image()
    {
        var page = _x.Dir.Write("broken/index.html", "<!DOCTYPE html><html><body><img src=\"figures/gone.png\"></body></html>");

        var loaded = Chromium.Load(page, null);

        Assert.Equal(["figures/gone.png"], loaded.BrokenImages);
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

/// <summary>What headless chromium saw of a page: its DOM after load, the images that did not load, how many, its log.</summary>
internal sealed record LoadedPage(string Dom, IReadOnlyList<string> BrokenImages, int Images, string Log);

/// <summary>
/// Headless chromium on a local page. Headless chromium does not log failed image loads, so a copy of the page beside it (the
/// same relative links) gets a script that, on load, writes the images that did not load into the body's attributes, which
/// <c>--dump-dom</c> then shows.
/// </summary>
internal static partial class Chromium
{
    private const string Probe = "<script>addEventListener('load',()=>{const b=[...document.images].filter(i=>!i.complete||i.naturalWidth===0)"
        + ".map(i=>i.getAttribute('src'));document.body.setAttribute('data-broken-images',JSON.stringify(b));"
        + "document.body.setAttribute('data-images',document.images.length)})</script>";

    public static string? Path { get; } = Find();

    private static string? Find() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator)
            .SelectMany(dir => new[] { "chromium", "chromium-browser" }.Select(name => System.IO.Path.Combine(dir, name)))
            .FirstOrDefault(File.Exists);

    public static LoadedPage Load(string page, string? screenshot)
    {
        var profile = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "codilab-chromium-" + Guid.NewGuid().ToString("N")[..8]);
        var probe = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(page)!, $".probe-{Guid.NewGuid():N}.html");
        var html = File.ReadAllText(page);
        var end = html.LastIndexOf("</body>", StringComparison.Ordinal);
        File.WriteAllText(probe, end < 0 ? html + Probe : html[..end] + Probe + html[end..]);
        string[] common = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr", "--v=0",
            $"--user-data-dir={profile}", "--window-size=1280,900", "--virtual-time-budget=10000"];
        try
        {
            var (dom, log) = Run([.. common, "--dump-dom", new Uri(probe).AbsoluteUri]);
            if (screenshot is not null) log += Run([.. common, $"--screenshot={screenshot}", new Uri(page).AbsoluteUri]).Log;
            var body = BodyPattern().Match(dom);
            Assert.True(body.Success, $"chromium did not run the probe on {page}: {log}");
            var broken = JsonNode.Parse(WebUtility.HtmlDecode(body.Groups[1].Value))!.AsArray().Select(n => n!.GetValue<string>()).ToList();
            return new LoadedPage(dom, broken, int.Parse(body.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), log);
        }
        finally
        {
            File.Delete(probe);
            if (Directory.Exists(profile)) Directory.Delete(profile, recursive: true);
        }
    }

    [GeneratedRegex("<body[^>]*data-broken-images=\"([^\"]*)\"[^>]*data-images=\"(\\d+)\"")]
    private static partial Regex BodyPattern();

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
