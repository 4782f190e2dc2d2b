using System.CommandLine;
using CodiLab.Pipeline.Data;
using CodiLab.Specs;

namespace CodiLab.Cli;

/// <summary><c>fetch-data</c> and <c>show-spec</c>.</summary>
internal static class DataCommands
{
    public static Command FetchData(CommandIO io)
    {
        var from = new Option<string>("--from")
        {
            Description = "base URL of the GSM8K files",
            DefaultValueFactory = _ => Gsm8k.OfficialUrlBase,
        };
        var command = new Command("fetch-data", "Download GSM8K train/test into the data root and check their SHA-256.") { from };
        command.SetAction(async (parse, cancel) =>
        {
            var env = io.Environment(parse);
            await DataFetcher.FetchGsm8kAsync(env.DataRoot, parse.GetValue(from)!, io.Out, cancel);
            return 0;
        });
        return command;
    }

    public static Command ShowSpec(CommandIO io)
    {
        var spec = new Argument<string>("spec") { Description = "a spec file or default:NAME" };
        var command = new Command("show-spec",
            "Print a spec with every field resolved (extends and defaults applied) and where each value came from.")
        {
            spec,
        };
        command.SetAction(parse =>
        {
            var loaded = SpecLoader.Load(parse.GetValue(spec)!);
            io.Out.WriteLine($"# {loaded.Name} ({loaded.Reference})");
            foreach (var field in loaded.Resolved()) io.Out.WriteLine($"{field.Path} = {field.Value}    # {field.Origin}");
            return 0;
        });
        return command;
    }
}
