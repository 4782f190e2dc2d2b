using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using CodiLab.Pipeline.Engine;

namespace CodiLab.Cli;

/// <summary>
/// The last line of defence: an exception that is not a <see cref="CodiLabException"/> is a bug in CodiLab, so the user
/// gets one paragraph naming it and a log file with the full trace to report, never the trace itself.
/// </summary>
public static class InternalError
{
    /// <summary>Runs a command body and maps every exception to a printed paragraph and an exit code.</summary>
    public static int Guard(Func<int> body, string? artifactsRoot, IReadOnlyList<string> args, TextWriter stderr)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (UserError(e) is { } error)
        {
            stderr.WriteLine(CodiLabCommand.Format(error));
            return error.ExitCode;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A file or folder the user named cannot be read or written: bad input (3), not a bug.
            stderr.WriteLine($"error: {e.Message} Fix: check the path and its permissions, then run again.");
            return ExitCodes.BadInput;
        }
        catch (Exception e)
        {
            stderr.WriteLine(Describe(e, WriteLog(e, artifactsRoot, args, DateTime.UtcNow)));
            return ExitCodes.Failure;
        }
    }

    /// <summary>
    /// The user error inside <paramref name="e"/>, looking through the wrappers that reflection, static constructors and
    /// tasks add (their own messages say nothing useful), or null.
    /// </summary>
    public static CodiLabException? UserError(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is CodiLabException error) return error;
            var wrapper = x is TargetInvocationException or TypeInitializationException
                || x is AggregateException { InnerExceptions.Count: 1 };
            if (!wrapper) return null;
        }
        return null;
    }

    /// <summary>The paragraph printed for an internal error; <paramref name="logPath"/> is null when no log could be written.</summary>
    public static string Describe(Exception e, string? logPath)
    {
        var message = string.Join(' ', e.Message.Split((char[])['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim().TrimEnd('.');
        var trace = logPath is null
            ? "The full trace could not be saved (neither the artifacts folder nor the temp folder is writable)"
            : $"The full trace is in {logPath}";
        return $"internal error: {e.GetType().FullName}: {message}. {trace}. "
            + "Fix: this is a bug in CodiLab, not a mistake in your input; report it with "
            + (logPath is null ? "the command line you ran." : "that file (it holds the command line and the trace).");
    }

    /// <summary>
    /// Writes the full exception to <c>logs/internal-TIMESTAMP-PID.log</c> under the artifacts root, or under the temp
    /// folder when the artifacts root cannot be written; returns the path, or null when neither can.
    /// </summary>
    public static string? WriteLog(Exception e, string? artifactsRoot, IReadOnlyList<string> args, DateTime utcNow)
    {
        var name = $"internal-{utcNow.ToString("yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture)}-{Environment.ProcessId}.log";
        var text = string.Join(Environment.NewLine,
            $"codilab {HarnessInfo.Version} internal error at {utcNow.ToString("O", CultureInfo.InvariantCulture)}",
            $"command line: codilab {string.Join(' ', args)}",
            $"current folder: {Environment.CurrentDirectory}",
            $"runtime: {RuntimeInformation.FrameworkDescription} on {RuntimeInformation.OSDescription} "
                + $"({RuntimeInformation.ProcessArchitecture})",
            "",
            e.ToString(),
            "");
        foreach (var folder in LogFolders(artifactsRoot))
        {
            try
            {
                Directory.CreateDirectory(folder);
                var path = Path.Combine(folder, name);
                File.WriteAllText(path, text);
                return path;
            }
            catch (Exception x) when (x is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                // Try the next folder: the log must not fail the report of the error it describes.
            }
        }
        return null;
    }

    // The artifacts root as the commands resolve it (option, $CODILAB_ARTIFACTS, ./artifacts), then the temp folder.
    private static IEnumerable<string> LogFolders(string? artifactsRoot)
    {
        var variable = Environment.GetEnvironmentVariable("CODILAB_ARTIFACTS");
        var root = !string.IsNullOrWhiteSpace(artifactsRoot) ? artifactsRoot
            : !string.IsNullOrWhiteSpace(variable) ? variable
            : "artifacts";
        string? full = null;
        try
        {
            full = Path.GetFullPath(Path.Combine(root, "logs"));
        }
        catch (Exception x) when (x is ArgumentException or NotSupportedException or PathTooLongException)
        {
            // An unusable root: the temp folder below still takes the log.
        }
        if (full is not null) yield return full;
        yield return Path.Combine(Path.GetTempPath(), "codilab-logs");
    }
}
