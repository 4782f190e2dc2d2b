using System.CommandLine;
using CodiLab.Models;
using CodiLab.Models.Architectures;
using CodiLab.Models.Codi;
using CodiLab.Models.Interventions;

namespace CodiLab.Cli;

/// <summary><c>trace</c>, <c>inspect</c>, <c>make-model</c>.</summary>
internal static class ModelCommands
{
    public static Command Trace(CommandIO io)
    {
        var folder = ModelFolder();
        var question = new Option<string[]>("--question")
            { Description = "a question (repeatable; the JSON is then a list)", Required = true, AllowMultipleArgumentsPerToken = false };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "answer tokens at most", DefaultValueFactory = _ => 256 }
            .AtLeast(0, "the answer cannot have fewer than 0 tokens");
        var dtype = new Option<string>("--dtype")
            { Description = "compute dtype: float32 or bfloat16", DefaultValueFactory = _ => "float32" }
            .OneOf("float32", "bfloat16", "fp32", "bf16");
        var device = new Option<string>("--device")
            { Description = "cpu or cuda (cuda needs a CUDA libtorch: --libtorch)", DefaultValueFactory = _ => "cpu" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "folder with the tokenizer files (default: MODEL_DIR)" };
        var json = new Option<string?>("--json") { Description = "write the trace JSON (docs/model-folder.md#trace-json) to this file" };
        var noNormalize = new Option<bool>("--no-normalize")
            { Description = "use the question as given (default: strip and collapse double spaces, as the official code)" };
        var (checkpoint, loraR, loraAlpha, numLatent, eos) = LoadOptions();
        var interventions = new TraceInterventionOptions();
        var command = new Command("trace",
            "Run the CODI loop on questions and write the attention of BOT and every continuous thought, the logit lens and the answer "
            + "(optionally under interventions: docs/interventions.md).")
            { folder, question, maxNew, dtype, device, tokenizer, json, noNormalize, checkpoint, loraR, loraAlpha, numLatent, eos };
        foreach (var option in interventions.All) command.Options.Add(option);
        command.SetAction(parse =>
        {
            // Option values are checked before the model loads, so a typo costs no load.
            var request = interventions.Parse(parse);
            var questions = parse.GetValue(question)!;
            if (questions.Any(string.IsNullOrWhiteSpace))
                throw new CodiLabException("a --question is empty.", "--question", "give the question's text.", ExitCodes.InvalidSpec);
            if (request.Golds.Count > 0 && request.Golds.Count != questions.Length)
                throw new CodiLabException($"{request.Golds.Count} --gold for {questions.Length} --question.", "--gold",
                    "give one --gold per --question, in the same order.", ExitCodes.InvalidSpec);
            io.Runtime(parse);
            var options = new CodiOptions(parse.GetValue(tokenizer), Load(parse, checkpoint, loraR, loraAlpha),
                DTypes.Parse(parse.GetValue(dtype)!, "--dtype"), ArgumentChecks.Device(parse.GetValue(device)!), parse.GetValue(numLatent),
                parse.GetValue(eos) is { Length: > 0 } e ? e : null);
            using var model = CodiModel.Load(parse.GetValue(folder)!, options);
            // The JSON names the question as it was encoded (normalised unless --no-normalize), as reference.json does.
            CodiModel.Prompt Prompt(string q, string? gold = null)
            {
                var text = parse.GetValue(noNormalize) ? q : CodiLab.Models.Tokenizers.CodiTokenizer.NormalizeQuestion(q);
                return new CodiModel.Prompt(text, model.PromptIdsAsGiven(text), gold);
            }
            foreach (var q in questions)
                ArgumentChecks.Positions(model, Prompt(q).Ids, parse.GetValue(maxNew), Prompt(q).Question);
            var applied = request.Build(model, q => Prompt(q), parse.GetValue(maxNew));
            // Checked against every question before any line is printed (TraceBatch checks again, per batch).
            InterventionRows.Validate(applied, model.Loaded.Config,
                PositionLayout.Of([.. questions.Select(q => Prompt(q).Ids.Count)], model.NumLatent));
            foreach (var intervention in applied)
                io.Out.WriteLine("intervention: " + InterventionText.Describe(intervention) + (intervention is KvGroupAblation g
                    ? $"; it hits query heads {string.Join(',', g.QueryHeads(model.Loaded.Config))}" : ""));
            var prompts = questions.Select((q, i) => Prompt(q, request.Golds.Count > 0 ? request.Golds[i] : null)).ToList();
            var traces = TraceEach(io, model, prompts, parse.GetValue(maxNew), applied);
            if (parse.GetValue(json) is { } path)
            {
                TraceJson.Write(path, traces);
                io.Out.WriteLine($"wrote {path}");
            }
            return 0;
        });
        return command;
    }

    /// <summary>Traces each prompt alone under the interventions and prints one line (two with a gold) per question.</summary>
    private static List<TraceResult> TraceEach(
        CommandIO io, CodiModel model, IReadOnlyList<CodiModel.Prompt> prompts, int maxNewTokens, IReadOnlyList<Intervention> applied)
    {
        var traces = new List<TraceResult>();
        foreach (var prompt in prompts)
        {
            var trace = model.TraceBatch([prompt], maxNewTokens, applied)[0];
            traces.Add(trace);
            io.Out.WriteLine($"{trace.InputIds.Count} prompt tokens; logit lens [{string.Join(", ", trace.LogitLensTop1)}]; "
                + $"answer {trace.AnswerIds.Count} tokens: {trace.AnswerText.Trim()}");
            if (trace.GoldLogProb is { } gold)
                io.Out.WriteLine($"gold '{CodiModel.AnswerText(prompt.Gold!)}' + EOS: log-probability {gold:F6} "
                    + "(teacher-forced after EOT)");
        }
        return traces;
    }

    public static Command Inspect(CommandIO io)
    {
        var folder = ModelFolder();
        var (checkpoint, loraR, loraAlpha, _, _) = LoadOptions();
        var command = new Command("inspect",
            "Load a model folder and print every checkpoint key: shape, dtype, what it became, and the totals.")
            { folder, checkpoint, loraR, loraAlpha };
        command.SetAction(parse =>
        {
            io.Runtime(parse);
            var report = InspectReport.Load(parse.GetValue(folder)!, Load(parse, checkpoint, loraR, loraAlpha));
            var c = report.Config;
            io.Out.WriteLine($"checkpoint {report.CheckpointPath}");
            io.Out.WriteLine($"config     {c.Arch}: {c.Layers} layers, hidden {c.Hidden}, "
                + $"{c.Heads} heads ({c.KvHeads} kv, head dim {c.HeadDim}), mlp {c.Intermediate}, "
                + $"vocab {c.VocabSize} (+3: pad {c.VocabSize}, bot {c.VocabSize + 1}, eot {c.VocabSize + 2})");
            var width = report.Keys.Max(k => k.Key.Length);
            foreach (var k in report.Keys)
                io.Out.WriteLine($"{k.Key.PadRight(width)}  {k.Type,-8} {string.Join('×', k.Shape),-12} {k.Role,-20} {k.Target}"
                    + (k.Note is null ? "" : "  (" + k.Note + ")"));
            foreach (var note in report.Notes) io.Out.WriteLine("note: " + note);
            io.Out.WriteLine($"totals: {report.TotalKeys} keys, {report.Consumed} consumed, {report.Unused} unused ("
                + string.Join(", ", report.RoleCounts.Select(r => $"{r.Count} {r.Role}")) + "); "
                + $"{report.ParametersFilled} network parameters filled, {report.Values:N0} values");
            return 0;
        });
        return command;
    }

    public static Command MakeModel(CommandIO io)
    {
        var presets = string.Join(", ", TinyShape.Presets.Keys);
        var arch = new Option<string>("--arch") { Description = "llama or gpt2", Required = true }.OneOf("llama", "gpt2");
        // A negative seed would give the same weights as its absolute value, so two seeds would name one model.
        var seed = new Option<int>("--seed") { Description = "weights seed", DefaultValueFactory = _ => 42 }
            .AtLeast(0, "weights seeds run from 0 to 2147483647");
        var output = new Option<string>("--out") { Description = "folder to write (absent or empty, unless --force)", Required = true };
        var force = new Option<bool>("--force")
            { Description = "write into a folder that already holds files: the files make-model writes are replaced, others kept" };
        var preset = new Option<string>("--preset")
            { Description = $"shape: {presets} (real bodies, 512-rank vocabulary)", DefaultValueFactory = _ => "tiny" };
        var command = new Command("make-model",
            "Write a random CODI model folder in the official layout, with an offline tokenizer (deterministic per seed).")
            { arch, seed, output, preset, force };
        command.SetAction(parse =>
        {
            var folder = OutputFolder.Claim(parse.GetValue(output)!, parse.GetValue(force));
            io.Runtime(parse);
            if (!TinyShape.Presets.TryGetValue(parse.GetValue(preset)!, out var shape))
                throw new CodiLabException($"there is no preset '{parse.GetValue(preset)}'.", "--preset", $"use one of: {presets}.",
                    ExitCodes.InvalidSpec);
            var sha = TinyModel.Write(parse.GetValue(arch)!, parse.GetValue(seed), parse.GetValue(output)!, shape);
            io.Out.WriteLine($"wrote {parse.GetValue(output)} (model.safetensors sha256 {sha})");
            // Files make-model does not write stay, and some take precedence (tokenizer.json over original/tokenizer.model).
            var kept = folder.KeptFiles();
            if (kept.Count > 0)
                io.Out.WriteLine($"note: kept {kept.Count} file(s) make-model does not write, which the loader may still read: "
                    + string.Join(", ", kept));
            return 0;
        });
        return command;
    }

    private static Argument<string> ModelFolder() =>
        new("model-dir") { Description = "a CODI model folder (config.json, checkpoint, tokenizer files)" };

    private static (Option<string?> Checkpoint, Option<int?> LoraR, Option<double?> LoraAlpha, Option<int?> NumLatent, Option<int[]> Eos)
        LoadOptions() => (
        new Option<string?>("--checkpoint")
            { Description = "checkpoint file in the folder (default: model.safetensors, else pytorch_model.bin)" },
        new Option<int?>("--lora-r") { Description = "LoRA rank (default: codi.json / adapter_config.json, else 128)" },
        new Option<double?>("--lora-alpha") { Description = "LoRA alpha (default: codi.json / adapter_config.json, else 32)" },
        new Option<int?>("--num-latent") { Description = "continuous thoughts (default: codi.json, else 6)" }
            .AtLeast(0, "a trace has zero or more continuous thoughts"),
        new Option<int[]>("--eos")
            { Description = "EOS ids (default: the tokenizer's end tokens)", AllowMultipleArgumentsPerToken = true });

    private static LoadOptions Load(ParseResult parse, Option<string?> checkpoint, Option<int?> loraR, Option<double?> loraAlpha) =>
        new(parse.GetValue(loraR), parse.GetValue(loraAlpha), parse.GetValue(checkpoint));
}
