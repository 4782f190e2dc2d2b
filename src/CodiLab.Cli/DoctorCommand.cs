using System.CommandLine;
using System.Text.Json;
using CodiLab.Models.Codi;

namespace CodiLab.Cli;

/// <summary><c>doctor</c>: the checks of <see cref="ModelDoctor"/> on a model folder, as lines or JSON.</summary>
internal static class DoctorCommand
{
    public static Command Create(CommandIO io)
    {
        var folder = new Argument<string>("model-dir") { Description = "a CODI model folder (config.json, checkpoint, tokenizer files)" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "folder with the tokenizer files (default: MODEL_DIR)" };
        var question = new Option<string?>("--question")
        {
            Description = "the sample question to encode and trace (default: a GSM8K-style one)",
        };
        var checkpoint = new Option<string?>("--checkpoint")
        {
            Description = "checkpoint file in the folder (default: model.safetensors, else pytorch_model.bin)",
        };
        var json = new Option<bool>("--json") { Description = "print the report as JSON instead of lines" };
        var command = new Command("doctor",
            "Check a model folder before tracing it: config, dtypes, LoRA, keys, appended rows, tokenizer and start token, EOS, "
            + $"one trace (exit {CodiLab.ExitCodes.BadInput} if a check fails).")
        {
            folder, tokenizer, question, checkpoint, json,
        };
        command.SetAction(parse =>
        {
            io.Runtime(parse);
            var options = new DoctorOptions(parse.GetValue(tokenizer), parse.GetValue(question), parse.GetValue(checkpoint));
            var report = ModelDoctor.Run(parse.GetValue(folder)!, options);
            if (parse.GetValue(json)) io.Out.WriteLine(JsonSerializer.Serialize(report.ToJson(), new JsonSerializerOptions { WriteIndented = true }));
            else foreach (var line in report.ToLines()) io.Out.WriteLine(line);
            return report.Ok ? 0 : CodiLab.ExitCodes.BadInput;
        });
        return command;
    }
}
