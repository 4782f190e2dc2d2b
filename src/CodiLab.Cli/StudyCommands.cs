using System.CommandLine;

namespace CodiLab.Cli;

/// <summary><c>bench</c>.</summary>
internal static class BenchCommand
{
    public static Command Create(CommandIO io)
    {
        var spec = new Argument<string>("spec") { Description = "a spec file or default:NAME (its sample, model, dtype, device)" };
        var problems = new Option<int?>("--problems") { Description = "time the first N sampled problems (default: the whole sample)" };
        var batch = new Option<int?>("--batch-size") { Description = "problems per batch (default: extraction.batch_size)" };
        var model = new Option<string?>("--model") { Description = "time this model folder instead of the spec's (e.g. from codi_reference.py --preset full)" };
        var peer = new Option<string?>("--peer") { Description = "a file with codi_reference.py's 'PEER … problems_per_s=X' line: prints the ratio" };
        var command = new Command("bench", "Time extraction (model load apart) and write artifacts/<experiment>/bench.json.") { spec, problems, batch, model, peer };
        command.SetAction(parse =>
        {
            io.Runtime(parse);
            var loaded = CodiLab.Specs.SpecLoader.Load(parse.GetValue(spec)!);
            var result = CodiLab.Pipeline.Stages.Bench.Run(loaded, io.Environment(parse),
                new CodiLab.Pipeline.Stages.BenchOptions(parse.GetValue(problems), parse.GetValue(batch), parse.GetValue(model), parse.GetValue(peer)));
            io.Out.WriteLine(result.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            return 0;
        });
        return command;
    }
}

/// <summary><c>compare</c>.</summary>
internal static class CompareCommand
{
    public static Command Create(CommandIO io)
    {
        var a = new Argument<string>("a") { Description = "first spec (default pair: default:tiny-llama)", Arity = ArgumentArity.ZeroOrOne };
        var b = new Argument<string>("b") { Description = "second spec (default pair: default:tiny-gpt2)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("compare", "Compare two experiments: spec fields that differ, every Phase 1-2 summary value with deltas, side-by-side figures.") { a, b };
        command.SetAction(parse =>
        {
            io.Runtime(parse);
            var (first, second) = (parse.GetValue(a), parse.GetValue(b));
            if ((first is null) != (second is null))
                throw new CodiLabException("compare needs two specs (or none, for the default pair).", "command line", "give two specs: codilab compare A.yaml B.yaml", ExitCodes.InvalidSpec);
            var specs = CodiLab.Specs.SpecLoader.LoadAll(first is null ? CodiLab.Specs.SpecLoader.DefaultSpecs : [first, second!]);
            var (folder, _) = CodiLab.Pipeline.Stages.Comparison.Run(specs[0], specs[1], io.Environment(parse));
            io.Out.WriteLine(Path.Combine(folder, "compare.md"));
            return 0;
        });
        return command;
    }
}
