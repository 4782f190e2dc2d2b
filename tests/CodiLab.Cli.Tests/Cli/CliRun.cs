using CodiLab.Cli;

namespace CodiLab.Tests.Cli;

/// <summary>Runs the codilab command in-process and captures what it printed.</summary>
internal static class CliRun
{
    /// <summary>Runs <paramref name="args"/>; with <paramref name="artifacts"/>, under that artifacts folder.</summary>
    public static (int Code, string Out, string Error) Invoke(string? artifacts, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        string[] all = artifacts is null ? args : [.. args, "--artifacts", artifacts];
        var code = CodiLabCommand.Invoke(all, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
