using System.Reflection;

namespace CodiLab.Pipeline.Engine;

/// <summary>The harness version that goes into every cache key, and facts for provenance.</summary>
public static class HarnessInfo
{
    /// <summary>The version of the CodiLab assemblies (Directory.Build.props).</summary>
    public static string Version { get; } =
        typeof(HarnessInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    /// <summary>The git commit of the working folder (read from .git without running git), or null.</summary>
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
