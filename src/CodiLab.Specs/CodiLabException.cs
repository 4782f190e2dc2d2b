namespace CodiLab;

/// <summary>
/// A failure the user can fix: says what went wrong, where (a file, ideally with line and column) and how to
/// fix it. The CLI prints it as one paragraph and exits with <see cref="ExitCode"/>.
/// </summary>
public class CodiLabException : Exception
{
    /// <summary>Creates the error.</summary>
    public CodiLabException(string what, string? where = null, string? fix = null, int exitCode = 1, Exception? inner = null)
        : base(Compose(what, where, fix), inner)
    {
        What = what;
        Where = where;
        Fix = fix;
        ExitCode = exitCode;
    }

    /// <summary>What went wrong.</summary>
    public string What { get; }

    /// <summary>The file (and position) concerned, if any.</summary>
    public string? Where { get; }

    /// <summary>How to fix it.</summary>
    public string? Fix { get; }

    /// <summary>The process exit code the CLI uses for this error.</summary>
    public int ExitCode { get; }

    private static string Compose(string what, string? where, string? fix)
    {
        var text = where is null ? what : $"{where}: {what}";
        return fix is null ? text : $"{text} Fix: {fix}";
    }
}

/// <summary>Exit codes shared by the CLI and the Cake script.</summary>
public static class ExitCodes
{
    /// <summary>Unexpected failure.</summary>
    public const int Failure = 1;
    /// <summary>The spec (or a command-line argument) is invalid.</summary>
    public const int InvalidSpec = 2;
    /// <summary>An input file (dataset, checkpoint) is missing or does not match its hash.</summary>
    public const int BadInput = 3;
    /// <summary>Another run holds the experiment.</summary>
    public const int Busy = 4;
    /// <summary>The cache holds corrupt entries.</summary>
    public const int Corrupt = 5;
    /// <summary><c>verify</c>: a pinned value drifted beyond its tolerance when the experiment was rerun.</summary>
    public const int Drift = 6;
}
