using System.CommandLine;
using CodiLab.Models;
using CodiLab.Pipeline.Engine;

namespace CodiLab.Cli;

/// <summary>
/// The <c>codilab</c> command tree. Commands parse arguments and call the libraries; every
/// <see cref="CodiLabException"/> becomes one paragraph on stderr and its exit code, any other exception an
/// "internal error" paragraph with the path of a log holding its trace (<see cref="InternalError"/>).
/// </summary>
public static class CodiLabCommand
{
    /// <summary>Runs the command line with the given writers; returns the exit code.</summary>
    public static int Invoke(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var artifacts = new Option<string?>("--artifacts")
        {
            Description = "artifacts folder (default: $CODILAB_ARTIFACTS, else ./artifacts)",
            Recursive = true,
        };
        var libtorch = new Option<string?>("--libtorch")
        {
            Description = "load this libtorch folder (e.g. a Python PyTorch install's torch/lib, for CUDA) instead of the packaged one "
                + $"(default: ${TorchRuntime.LibTorchVariable})",
            Recursive = true,
        };
        var root = new RootCommand("CodiLab: reproducible mechanistic experiments on CODI continuous-thought models.");
        root.Options.Add(artifacts);
        root.Options.Add(libtorch);
        var io = new CommandIO(stdout, stderr, artifacts, libtorch);
        foreach (var command in new[]
        {
            RunCommands.Run(io),
            RunCommands.Plan(io),
            RunCommands.Verify(io),
            AuditCommands.Pin(io),
            RunCommands.Clean(io),
            DataCommands.FetchData(io),
            DataCommands.ShowSpec(io),
            ModelCommands.Trace(io),
            ModelCommands.Inspect(io),
            ModelCommands.MakeModel(io),
            BenchCommand.Create(io),
            CompareCommand.Create(io),
            ParityCommand.Create(io),
            DoctorCommand.Create(io),
            SiteCommands.Experiments(io),
            SiteCommands.Site(io),
        })
            root.Subcommands.Add(command);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // An argument error is one paragraph and exit 2, like an invalid spec; the help text is one command away.
            var command = string.Join(" ", parse.CommandResult.Command.Name == root.Name ? ["codilab"] : new[] { "codilab", parse.CommandResult.Command.Name });
            foreach (var error in parse.Errors)
                stderr.WriteLine($"command line: error: {error.Message} Fix: run '{command} --help' for the arguments and options it takes.");
            return ExitCodes.InvalidSpec;
        }
        // Every exception ends here: a user error as its paragraph, anything else as "internal error" with a log file.
        return InternalError.Guard(
            () => parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false }),
            parse.GetValue(artifacts), args, stderr);
    }

    /// <summary>One error as printed: each spec diagnostic on its own line, prefixed with its position.</summary>
    public static string Format(CodiLabException e) => e switch
    {
        Specs.SpecException s => string.Join(Environment.NewLine, s.Diagnostics.Select(d => $"{d.Mark}: error: {d.Message} Fix: {d.Fix}")),
        _ => $"{(e.Where is null ? "" : e.Where + ": ")}error: {e.What}{(e.Fix is null ? "" : " Fix: " + e.Fix)}",
    };
}

/// <summary>What every command needs: writers and the shared options.</summary>
public sealed record CommandIO(TextWriter Out, TextWriter Error, Option<string?> Artifacts, Option<string?> LibTorch)
{
    /// <summary>Loads libtorch (the --libtorch folder, $LIBTORCH_PATH, or the packaged backend).</summary>
    public string Runtime(ParseResult parse) => TorchRuntime.Initialize(parse.GetValue(LibTorch));

    /// <summary>
    /// The pipeline environment for a parsed command line: logs go to <paramref name="log"/> (default stdout); long work
    /// shows a live display on a terminal (<see cref="LiveProgress.Wanted"/>), plain periodic lines otherwise.
    /// </summary>
    public PipelineEnvironment Environment(ParseResult parse, TextWriter? log = null)
    {
        log ??= Out;
        if (LiveProgress.Wanted(log))
        {
            var live = new LiveProgress(Spectre.Console.AnsiConsole.Console);
            return PipelineEnvironment.FromEnvironment(live.Log, parse.GetValue(Artifacts)) with { Progress = live };
        }
        return PipelineEnvironment.FromEnvironment(log, parse.GetValue(Artifacts));
    }
}
