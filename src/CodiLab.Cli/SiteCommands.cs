using System.CommandLine;
using System.Text.Json;
using CodiLab.Pipeline.Features;
using CodiLab.Reports;
using Spectre.Console;

namespace CodiLab.Cli;

/// <summary><c>experiments</c> (the table, like <c>dvc exp show</c>) and <c>site</c> (the static report site).</summary>
internal static class SiteCommands
{
    private static Option<string?> Pins() => new("--pins")
    {
        Description = $"the pins folder the pinned/verified column reads (default: {Pinning.DefaultFolder} under the current folder)",
    };

    public static Command Experiments(CommandIO io)
    {
        var json = new Option<bool>("--json") { Description = "print the rows as JSON (every metric of metrics.json included)" };
        var sort = new Option<string?>("--sort")
        {
            Description = "sort by a column (experiment, spec, model, dataset, sample, phases, pinned), a headline label "
                + "('hub ratio', 'seed seq', …) or any metrics.json key; append ':desc' to reverse",
        };
        var pins = Pins();
        var command = new Command("experiments",
            "One row per experiment under the artifacts folder: spec, model hash, dataset, sample, phases done, headline metrics "
            + "with 95% intervals, pinned/verified state. Also rewrites each experiment's flat params.json and metrics.json.")
        {
            json, sort, pins,
        };
        command.SetAction(parse =>
        {
            var env = io.Environment(parse);
            var rows = ExperimentIndex.Collect(env, AuditCommands.PinsFolder(parse, pins, mustExist: true));
            if (parse.GetValue(sort) is { } field) rows = ExperimentIndex.Sort(rows, field);
            if (parse.GetValue(json))
            {
                io.Out.WriteLine(JsonSerializer.Serialize(rows, Pinning.Json));
                return 0;
            }
            if (rows.Count == 0)
            {
                io.Out.WriteLine($"no experiment under {env.ArtifactsRoot} yet: run ./build.sh --target=Phase1 (or codilab run SPEC)");
                return 0;
            }
            Print(io.Out, rows);
            io.Out.WriteLine($"flat files for DVC/pandas: {Path.Combine(env.ArtifactsRoot, "<experiment>", ExperimentIndex.ParamsFile)}, "
                + ExperimentIndex.MetricsFile);
            return 0;
        });
        return command;
    }

    // A Spectre table on a terminal; the same table without colour, at full width, in a log or a pipe.
    private static void Print(TextWriter writer, IReadOnlyList<ExperimentRow> rows)
    {
        var terminal = ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected
            && Environment.GetEnvironmentVariable("CI") != "true";
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        if (!terminal) console.Profile.Width = 400;
        var (header, cells) = SiteReport.Table(rows);
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var h in header) table.AddColumn(new TableColumn(Markup.Escape(h)).NoWrap());
        foreach (var row in cells) table.AddRow(row.Select(c => new Text(c)).ToArray());
        console.Write(table);
    }

    public static Command Site(CommandIO io)
    {
        var pins = Pins();
        var command = new Command("site",
            "Write artifacts/site/: index.html with the experiments table and every experiment's reports, comparisons and audits, "
            + "self-contained (relative links, figures embedded) for a file browser, a CI artifact or GitHub Pages. Runs nothing.")
        {
            pins,
        };
        command.SetAction(parse =>
        {
            var env = io.Environment(parse);
            var result = CodiLab.Pipeline.Features.Site.Build(env, AuditCommands.PinsFolder(parse, pins, mustExist: true));
            foreach (var link in result.Unresolved)
                io.Error.WriteLine($"{result.Folder}: warning: a link found no file and was left as it is: {link}");
            io.Out.WriteLine($"site: {Path.GetRelativePath(Directory.GetCurrentDirectory(), result.Index)} "
                + $"({result.Rows.Count} experiment(s), {result.Pages} report page(s))");
            return 0;
        });
        return command;
    }
}
