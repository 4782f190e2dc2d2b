using System.CommandLine;

namespace CodiLab.Cli;

/// <summary><c>bench</c>.</summary>
internal static class BenchCommand
{
    public static Command Create(CommandIO io)
    {
        var spec = new Argument<string>("spec") { Description = "a spec file or default:NAME (its sample, model, dtype, device)" };
        var problems = new Option<int[]>("--problems")
        {
            Description = "time the first N sampled problems (default: the whole sample); several values (--problems 8 32 128) "
                + "are timed in turn with one model load",
            AllowMultipleArgumentsPerToken = true,
        };
        var batch = new Option<int[]>("--batch-size")
        {
            Description = "problems per batch (default: extraction.batch_size); several values are timed in turn",
            AllowMultipleArgumentsPerToken = true,
        };
        var dtype = new Option<string>("--dtype") { Description = "overrides model.dtype" }.OneOf("float32", "bfloat16", "fp32", "bf16");
        var device = new Option<string>("--device") { Description = "overrides model.device" }.OneOf("cpu", "cuda", "auto");
        var analysis = new Option<bool>("--analysis")
        {
            Description = "time everything after extract instead: the Phase 1-2 and Phase 4 stages on synthetic attention arrays "
                + "(--problems N, --layers, --heads), with peak memory",
        };
        var layers = new Option<int>("--layers")
            { Description = "--analysis: layers of the synthetic arrays", DefaultValueFactory = _ => 16 }
            .AtLeast(1, "at least one layer");
        var heads = new Option<int>("--heads") { Description = "--analysis: heads per layer", DefaultValueFactory = _ => 32 }
            .AtLeast(1, "at least one head");
        var model = new Option<string?>("--model")
        {
            Description = "time this model folder instead of the spec's (e.g. a full-size one from make-model --preset llama-1b)",
        };
        var peer = new Option<string?>("--peer")
        {
            Description = "a file with a peer's 'PEER … problems_per_s=X' line (the seed's method timed on the same host): prints the ratio",
        };
        peer.Validators.Add(result =>
        {
            if (result.GetValue(peer) is { } file && !File.Exists(file)) result.AddError($"--peer {file} names no file that exists.");
        });
        var command = new Command("bench", "Time extraction (model load apart) and write artifacts/<experiment>/bench.json.")
        {
            spec, problems, batch, model, peer, dtype, device, analysis, layers, heads,
        };
        foreach (var option in new[] { problems, batch })
            option.Validators.Add(result =>
            {
                // Read the tokens: a value that is not a number is the parser's own error (GetValue would throw on it).
                foreach (var token in result.Tokens)
                    if (int.TryParse(token.Value, out var bad) && bad < 1)
                        result.AddError($"{option.Name} {bad} is not allowed: it takes numbers of 1 or more.");
            });
        command.SetAction(parse =>
        {
            io.Runtime(parse);
            var loaded = CodiLab.Specs.SpecLoader.Load(parse.GetValue(spec)!);
            var counts = parse.GetValue(problems) is { Length: > 0 } c ? c : null;
            if (parse.GetValue(analysis))
            {
                var synthetic = CodiLab.Pipeline.Features.AnalysisBench.Run(loaded, io.Environment(parse),
                    counts?[^1] ?? 7473, parse.GetValue(layers), parse.GetValue(heads));
                io.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(synthetic, CodiLab.Pipeline.Artifacts.ArtifactJson.Options));
                return 0;
            }
            var sizes = parse.GetValue(batch) is { Length: > 0 } b ? b : null;
            var options = new CodiLab.Pipeline.Features.BenchOptions(null, null, parse.GetValue(model), parse.GetValue(peer))
            {
                ProblemCounts = counts, BatchSizes = sizes, DType = parse.GetValue(dtype), Device = parse.GetValue(device),
            };
            foreach (var result in CodiLab.Pipeline.Features.Bench.Sweep(loaded, io.Environment(parse), options))
                io.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(result, CodiLab.Pipeline.Artifacts.ArtifactJson.Options)
                    .ReplaceLineEndings(" "));
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
        var a = new Argument<string>("a")
        {
            Description = "first spec (default pair: default:tiny-llama)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var b = new Argument<string>("b")
        {
            Description = "second spec (default pair: default:tiny-gpt2)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var json = new Option<bool>("--json") { Description = "print the comparison's folder and files as one JSON object (logs go to stderr)" };
        var command = new Command("compare",
            "Compare two experiments: spec fields that differ, every Phase 1-2 summary value with deltas, side-by-side figures.")
        {
            a, b, json,
        };
        command.SetAction(parse =>
        {
            io.Runtime(parse);
            var (first, second) = (parse.GetValue(a), parse.GetValue(b));
            if ((first is null) != (second is null))
            {
                throw new CodiLabException("compare needs two specs (or none, for the default pair).", "command line",
                    "give two specs: codilab compare A.yaml B.yaml", ExitCodes.InvalidSpec);
            }
            var specs = CodiLab.Specs.SpecLoader.LoadAll(first is null ? CodiLab.Specs.SpecLoader.DefaultSpecs : [first, second!]);
            var asJson = parse.GetValue(json);
            var env = io.Environment(parse, asJson ? io.Error : null);
            var (folder, cached) = CodiLab.Pipeline.Features.Comparison.Run(specs[0], specs[1], env);
            if (asJson) JsonOutput.Print(io.Out, JsonOutput.Compare(specs[0], specs[1], folder, cached));
            else io.Out.WriteLine(Path.Combine(folder, "compare.md"));
            return 0;
        });
        return command;
    }
}

/// <summary><c>parity</c>: a model folder against its reference.json (Hugging Face reference traces, docs/model-folder.md#trace-json).</summary>
internal static class ParityCommand
{
    public static Command Create(CommandIO io)
    {
        var tolerance = CodiLab.Models.Codi.ParityTolerance.Default;
        var folder = new Argument<string>("model-dir")
            { Description = "a model folder holding reference.json (Hugging Face reference traces: docs/model-folder.md#trace-json)" };
        var reference = new Option<string?>("--reference") { Description = "the reference file (default: MODEL_DIR/reference.json)" };
        var checkpoint = new Option<string?>("--checkpoint")
            { Description = "model.safetensors or pytorch_model.bin (default: safetensors first)" };
        var dtype = new Option<string>("--dtype") { Description = "compute dtype", DefaultValueFactory = _ => "float32" }
            .OneOf("float32", "bfloat16", "fp32", "bf16");
        var device = new Option<string>("--device") { Description = "cpu or cuda", DefaultValueFactory = _ => "cpu" };
        var command = new Command("parity",
            $"Trace every question of a reference.json and compare: ids exact, attention within {tolerance.Attention} (exit 1 if not).")
            { folder, reference, checkpoint, dtype, device };
        command.SetAction(parse =>
        {
            io.Out.WriteLine(io.Runtime(parse));
            var dir = parse.GetValue(folder)!;
            var references = CodiLab.Models.Codi.TraceJson.Read(parse.GetValue(reference) ?? Path.Combine(dir, "reference.json"));
            using var model = CodiLab.Models.Codi.CodiModel.Load(dir, new CodiLab.Models.Codi.CodiOptions(null,
                new CodiLab.Models.Codi.LoadOptions(CheckpointFile: parse.GetValue(checkpoint)),
                CodiLab.Models.DTypes.Parse(parse.GetValue(dtype)!, "--dtype"), ArgumentChecks.Device(parse.GetValue(device)!)));
            var report = CodiLab.Models.Codi.ParityCheck.Run(model, references, tolerance, row => io.Out.WriteLine(Line(row)));
            io.Out.WriteLine(System.FormattableString.Invariant(
                $"{report.PassedCount}/{report.Count} questions match ({parse.GetValue(dtype)} on {parse.GetValue(device)}); ")
                + System.FormattableString.Invariant(
                $"worst attention difference {report.WorstAttentionDifference:E2} (tolerance {report.Tolerance.Attention:E0})"));
            return report.AllPassed ? 0 : CodiLab.ExitCodes.Failure;
        });
        return command;
    }

    private static string Line(CodiLab.Models.Codi.ParityRow row)
    {
        static string Same(bool equal) => equal ? "equal" : "DIFFER";
        var attention = row.WorstAttentionDifference is { } worst
            ? System.FormattableString.Invariant($"worst attention difference {worst:E2}")
            : $"attention not comparable ({row.LayoutProblem})";
        return $"question {row.Index}: input ids {Same(row.InputIdsEqual)}, logit lens {Same(row.LogitLensEqual)}, "
            + $"answer ids {Same(row.AnswerIdsEqual)}, {attention}{(row.Passed ? "" : "  <-- FAIL")}";
    }
}
