using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using CodiLab.Pipeline.Engine;
using CodiLab.Reports;

namespace CodiLab.Pipeline.Features;

/// <summary>The site written: its folder and index, the rows it shows, how many pages, and links that found no file.</summary>
public sealed record SiteResult(string Folder, string Index, IReadOnlyList<ExperimentRow> Rows, int Pages, IReadOnlyList<string> Unresolved);

/// <summary>
/// <c>codilab site</c> (<c>./build.sh --target=Report</c>): <c>artifacts/site/</c>, a static copy of every report that can be
/// uploaded alone (CI artifact, GitHub Pages) or opened from a file browser. Reports are found by pattern, not by phase:
/// every <c>*.html</c> and <c>*.md</c> directly inside an experiment's subfolders (<c>Phase1/report.html</c>,
/// <c>Phase2/phase2_report.md</c>, <c>audit/audit.md</c>, a later phase's report) and inside each comparison's folder.
/// An HTML report is copied; a Markdown one without an HTML twin becomes a page with its figures embedded. Every relative
/// link or image a page names is copied beside it (or pointed at the page made from it) so that the folder is closed;
/// what cannot be found is listed in <see cref="SiteResult.Unresolved"/>. The folder is built aside and swapped in whole.
/// </summary>
public static partial class Site
{
    /// <summary>The site's folder name under the artifacts root (a reserved name).</summary>
    public const string FolderName = "site";

    /// <summary>The rows as JSON, beside the index.</summary>
    public const string RowsFile = "experiments.json";

    /// <summary>The site folder.</summary>
    public static string Folder(PipelineEnvironment env) => Path.Combine(env.ArtifactsRoot, FolderName);

    /// <summary>Builds the site from what is under the artifacts root now (runs nothing).</summary>
    public static SiteResult Build(PipelineEnvironment env, string pins)
    {
        var rows = ExperimentIndex.Collect(env, pins);
        var final = Path.GetFullPath(Folder(env));
        var temp = $"{final}.tmp-{Environment.ProcessId}";
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        var site = new Publisher(Path.GetFullPath(env.ArtifactsRoot), temp);
        var experiments = rows.Select(r => new SiteExperiment(r, PublishExperiment(env, r.Experiment, site))).ToList();
        var comparisons = PublishComparisons(env, site);
        File.WriteAllText(Path.Combine(temp, "index.html"), SiteReport.RenderIndex(experiments, comparisons, env.HarnessVersion));
        File.WriteAllText(Path.Combine(temp, RowsFile), JsonSerializer.Serialize(rows, Pinning.Json) + "\n");
        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        Directory.Move(temp, final);
        return new SiteResult(final, Path.Combine(final, "index.html"), rows, site.Pages, site.Unresolved);
    }

    private static List<SiteLink> PublishExperiment(PipelineEnvironment env, string experiment, Publisher site)
    {
        var root = env.ExperimentRoot(experiment);
        var links = new List<SiteLink>();
        foreach (var folder in Directory.EnumerateDirectories(root).OrderBy(Rank).ThenBy(d => d, StringComparer.Ordinal))
            foreach (var (label, page) in site.PublishReports(folder, $"{experiment} {Path.GetFileName(folder)}"))
                links.Add(new SiteLink($"{Path.GetFileName(folder)}: {label}", page));
        foreach (var file in new[] { ExperimentIndex.ParamsFile, ExperimentIndex.MetricsFile, "lock.json" })
            if (File.Exists(Path.Combine(root, file))) links.Add(new SiteLink(file, site.Copy(Path.Combine(root, file))));
        return links;
    }

    // Phase folders first, in phase order; the audit and anything else after them.
    private static int Rank(string folder) => Path.GetFileName(folder).StartsWith("Phase", StringComparison.Ordinal) ? 0 : 1;

    private static List<SiteLink> PublishComparisons(PipelineEnvironment env, Publisher site)
    {
        var compare = Path.Combine(env.ArtifactsRoot, "compare");
        if (!Directory.Exists(compare)) return [];
        var links = new List<SiteLink>();
        foreach (var folder in Directory.EnumerateDirectories(compare).Order(StringComparer.Ordinal))
        {
            var pair = Path.GetFileName(folder);
            foreach (var (label, page) in site.PublishReports(folder, pair)) links.Add(new SiteLink($"{pair}: {label}", page));
            var json = Path.Combine(folder, "compare.json");
            if (File.Exists(json)) links.Add(new SiteLink($"{pair}: compare.json", site.Copy(json)));
        }
        return links;
    }

    [GeneratedRegex("(href|src)=\"([^\"]*)\"")]
    private static partial Regex LinkPattern();

    [GeneratedRegex("^[a-zA-Z][a-zA-Z0-9+.-]*:")]
    private static partial Regex SchemePattern();

    /// <summary>Copies and renders into the site folder, mapping each artifacts path to the same path under the site.</summary>
    private sealed class Publisher(string artifacts, string site)
    {
        private readonly Dictionary<string, string> _pages = new(StringComparer.Ordinal);

        public int Pages { get; private set; }

        public List<string> Unresolved { get; } = [];

        // artifacts/<experiment>/… → experiments/<experiment>/…; artifacts/compare/… → compare/…
        private string SitePath(string source)
        {
            var relative = Path.GetRelativePath(artifacts, source).Replace('\\', '/');
            return relative.StartsWith("compare/", StringComparison.Ordinal) ? relative : "experiments/" + relative;
        }

        /// <summary>Copies one file to its place in the site; returns its path relative to the site root.</summary>
        public string Copy(string source)
        {
            var relative = SitePath(source);
            var target = Path.Combine(site, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (!File.Exists(target)) File.Copy(source, target);
            return relative;
        }

        /// <summary>The reports directly inside <paramref name="folder"/>: (label, page path relative to the site root).</summary>
        public List<(string Label, string Page)> PublishReports(string folder, string title)
        {
            var files = Directory.EnumerateFiles(folder).Where(f => Path.GetExtension(f) is ".html" or ".md").ToList();
            var result = new List<(string, string)>();
            foreach (var stem in files.Select(Path.GetFileNameWithoutExtension).OfType<string>().Distinct().Order(StringComparer.Ordinal))
            {
                var html = Path.Combine(folder, stem + ".html");
                var md = Path.Combine(folder, stem + ".md");
                var page = SitePath(html);
                var text = File.Exists(html) ? File.ReadAllText(html) : Render(md, page, $"{title} {stem}");
                if (File.Exists(md)) _pages[md] = page;
                _pages[html] = page;
                var target = Path.Combine(site, page);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.WriteAllText(target, Closed(text, folder, page));
                result.Add((stem, page));
                Pages++;
            }
            return result;
        }

        private static string Render(string md, string page, string title)
        {
            var folder = Path.GetDirectoryName(md)!;
            var home = string.Concat(Enumerable.Repeat("../", page.Count(c => c == '/'))) + "index.html";
            return SiteReport.Page(File.ReadAllText(md), title, home, figure =>
            {
                var path = Path.Combine(folder, figure);
                return File.Exists(path) ? File.ReadAllBytes(path)
                    : throw new CodiLabException($"the report names the figure {figure}, which is not beside it.", md,
                        "run 'codilab verify' (it restores views from the cache), or run the phase again.", ExitCodes.Corrupt);
            });
        }

        // Every relative href/src of a page: a Markdown report already published becomes its page, any other file inside the
        // artifacts folder is copied to its place in the site; the link is rewritten relative to the page.
        private string Closed(string html, string sourceFolder, string page) => LinkPattern().Replace(html, m =>
        {
            var raw = WebUtility.HtmlDecode(m.Groups[2].Value);
            if (raw.Length == 0 || raw.StartsWith('#') || SchemePattern().IsMatch(raw)) return m.Value;
            var cut = raw.IndexOfAny(['#', '?']);
            var (path, rest) = cut < 0 ? (raw, "") : (raw[..cut], raw[cut..]);
            var pageFolder = Path.GetDirectoryName(Path.Combine(site, page))!;
            // The way back to the index (written last) is the site's own link, not the report's.
            if (Path.GetFullPath(Path.Combine(pageFolder, path)) == Path.Combine(site, "index.html")) return m.Value;
            var source = Path.GetFullPath(Path.Combine(sourceFolder, Uri.UnescapeDataString(path)));
            string? target = _pages.GetValueOrDefault(source);
            if (target is null && File.Exists(source) && !Path.GetRelativePath(artifacts, source).StartsWith("..", StringComparison.Ordinal))
                target = Copy(source);
            if (target is null)
            {
                Unresolved.Add($"{page}: {raw}");
                return m.Value;
            }
            var relative = Path.GetRelativePath(pageFolder, Path.Combine(site, target)).Replace('\\', '/');
            return $"{m.Groups[1].Value}=\"{WebUtility.HtmlEncode(Uri.EscapeDataString(relative).Replace("%2F", "/", StringComparison.Ordinal) + rest)}\"";
        });
    }
}
