using CodiLab.Cli;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Cli;

/// <summary>An exception that is not a user error prints one "internal error" paragraph and leaves its trace in a log file.</summary>
public sealed class InternalErrorTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    // Thrown and caught, so it carries a real stack trace like an exception escaping a command.
    private static int Fail() => throw new InvalidOperationException("Sequence contains no elements.\nSecond line.");

    [Fact]
    public void Unexpected_exception_prints_one_paragraph_without_a_trace_and_exits_1()
    {
        var stderr = new StringWriter();
        var artifacts = Path.Combine(_dir.Path, "artifacts");

        var code = InternalError.Guard(Fail, artifacts, ["run", "x.yaml"], stderr);

        var text = stderr.ToString();
        Assert.Equal(ExitCodes.Failure, code);
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith(
            "internal error: System.InvalidOperationException: Sequence contains no elements. Second line. The full trace is in ",
            text, StringComparison.Ordinal);
        Assert.Contains("Fix: this is a bug in CodiLab", text, StringComparison.Ordinal);
        Assert.DoesNotContain(" at CodiLab.", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Log_file_under_the_artifacts_root_holds_the_command_line_and_the_full_trace()
    {
        var stderr = new StringWriter();
        var artifacts = Path.Combine(_dir.Path, "artifacts");

        InternalError.Guard(Fail, artifacts, ["run", "x.yaml"], stderr);

        var log = Assert.Single(Directory.GetFiles(Path.Combine(artifacts, "logs")));
        Assert.Matches(@"internal-\d{8}-\d{6}-\d{3}-\d+\.log$", log);
        Assert.Contains(log, stderr.ToString(), StringComparison.Ordinal);
        var text = File.ReadAllText(log);
        Assert.Contains("command line: codilab run x.yaml", text, StringComparison.Ordinal);
        Assert.Contains("System.InvalidOperationException: Sequence contains no elements.", text, StringComparison.Ordinal);
        Assert.Contains(nameof(Fail), text, StringComparison.Ordinal);
    }

    [Fact]
    public void Unwritable_artifacts_root_puts_the_log_in_the_temp_folder()
    {
        // A file where the artifacts folder should be: logs/ cannot be created under it.
        var blocked = _dir.Write("artifacts", "not a folder");
        var stderr = new StringWriter();

        InternalError.Guard(Fail, blocked, ["verify"], stderr);

        var log = stderr.ToString().Split("The full trace is in ")[1].Split(". Fix:")[0];
        try
        {
            Assert.StartsWith(Path.GetTempPath(), log, StringComparison.Ordinal);
            Assert.Contains("command line: codilab verify", File.ReadAllText(log), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(log);
        }
    }

    [Fact]
    public void User_error_wrapped_by_the_runtime_is_still_its_own_paragraph_and_code()
    {
        var stderr = new StringWriter();
        var wrapped = new AggregateException(
            new CodiLabException("the dataset is missing.", "data.jsonl", "fetch it.", ExitCodes.BadInput));

        var code = InternalError.Guard(() => throw wrapped, Path.Combine(_dir.Path, "artifacts"), [], stderr);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal("data.jsonl: error: the dataset is missing. Fix: fetch it.", stderr.ToString().Trim());
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "artifacts", "logs")));
    }

    [Fact]
    public void Without_any_writable_folder_the_paragraph_says_the_trace_was_not_saved()
    {
        var text = InternalError.Describe(new ArgumentOutOfRangeException("count", "must be positive"), logPath: null);

        Assert.Contains("internal error: System.ArgumentOutOfRangeException: must be positive (Parameter 'count')", text,
            StringComparison.Ordinal);
        Assert.Contains("could not be saved", text, StringComparison.Ordinal);
        Assert.EndsWith("report it with the command line you ran.", text, StringComparison.Ordinal);
    }
}
