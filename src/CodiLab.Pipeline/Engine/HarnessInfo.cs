using System.Diagnostics;
using System.Reflection;

namespace CodiLab.Pipeline.Engine;

/// <summary>A git commit and whether its working tree had changes ("true", "false" or "unknown").</summary>
/// <param name="Commit">The full commit hash, or "unknown".</param>
/// <param name="Dirty">"true" when files differed from the commit, "false" when none did, "unknown" when git could not say.</param>
public sealed record GitState(string Commit, string Dirty)
{
    /// <summary>Neither git nor a repository was found.</summary>
    public static GitState Unknown { get; } = new("unknown", "unknown");
}

/// <summary>The harness version that goes into every cache key, and facts for provenance.</summary>
public static class HarnessInfo
{
    /// <summary>The version of the CodiLab assemblies (Directory.Build.props).</summary>
    public static string Version { get; } =
        typeof(HarnessInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    /// <summary>
    /// The commit the harness was built from and whether that tree was dirty, embedded at build time
    /// (CodiLab.Pipeline.csproj); "unknown" for a build without git or .git.
    /// </summary>
    public static GitState Harness { get; } = new(Metadata("HarnessCommit"), Metadata("HarnessDirty"));

    private static string Metadata(string key) =>
        typeof(HarnessInfo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value
        ?? "unknown";

    /// <summary>
    /// The commit and dirty flag of the git repository holding <paramref name="folder"/> (the experiment's spec file),
    /// asked of git itself; without git, the commit is read from .git and the dirty flag is "unknown". Null when the
    /// folder is in no repository.
    /// </summary>
    public static GitState? Repository(string folder)
    {
        if (!Directory.Exists(folder)) return null;
        var head = Git(folder, "rev-parse", "HEAD");
        if (head is { Length: 40 })
        {
            var status = Git(folder, "status", "--porcelain");
            return new GitState(head, status is null ? "unknown" : status.Length > 0 ? "true" : "false");
        }
        return GitCommit(folder) is { } commit ? new GitState(commit, "unknown") : null;
    }

    // One git command's trimmed output, or null when git is missing, fails or takes over ten seconds.
    private static string? Git(string folder, params string[] args)
    {
        try
        {
            var start = new ProcessStartInfo("git")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add("-C");
            start.ArgumentList.Add(folder);
            foreach (var a in args) start.ArgumentList.Add(a);
            using var git = Process.Start(start);
            if (git is null) return null;
            var output = git.StandardOutput.ReadToEndAsync();
            _ = git.StandardError.ReadToEndAsync();
            if (!git.WaitForExit(10_000))
            {
                git.Kill();
                return null;
            }
            return git.ExitCode == 0 ? output.Result.Trim() : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            return null;
        }
    }

    /// <summary>The git commit of a folder's repository, read from .git without running git, or null.</summary>
    public static string? GitCommit(string startDirectory)
    {
        for (var dir = new DirectoryInfo(startDirectory); dir is not null; dir = dir.Parent)
        {
            var git = Path.Combine(dir.FullName, ".git");
            if (!Directory.Exists(git)) continue;
            var head = File.ReadAllText(Path.Combine(git, "HEAD")).Trim();
            if (!head.StartsWith("ref: ", StringComparison.Ordinal)) return head;
            var reference = head[5..];
            var loose = Path.Combine(git, reference);
            if (File.Exists(loose)) return File.ReadAllText(loose).Trim();
            var packed = Path.Combine(git, "packed-refs");
            if (!File.Exists(packed)) return null;
            return File.ReadLines(packed).Select(l => l.Split(' ')).FirstOrDefault(p => p.Length == 2 && p[1] == reference)?[0];
        }
        return null;
    }
}
