using CodiLab.Specs;

namespace CodiLab.Pipeline.Engine;

/// <summary>
/// Removes what the harness owns under the artifacts root (experiment folders, the cache, the comparisons) and nothing
/// else: never the data root nor a folder on the way to it (wherever <c>CODILAB_DATA_DIR</c> points, even inside an
/// experiment folder or the cache), never anything a symbolic link points to (the link itself is removed, its target
/// left as it is), never a path outside the artifacts root.
/// </summary>
public static class Housekeeping
{
    private const string RunLock = ".run.lock";

    private static readonly StringComparison PathComparison =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>
    /// Deletes one experiment's readable folder (lock, provenance, views), holding its run lock meanwhile. Returns one line
    /// saying what was removed, or null when there was no such folder. A reserved name, or one that is not a single folder
    /// name directly under the artifacts root, is refused.
    /// </summary>
    public static string? CleanExperiment(PipelineEnvironment env, string experiment)
    {
        var root = OwnedFolder(env, experiment);
        if (IsLink(root)) return Unlink(root);
        if (!Directory.Exists(root)) return null;
        var data = Kept(env);
        using (ExperimentLock.Acquire(root, experiment, TimeSpan.Zero))
        {
            // The lock file stays until the lock is released: Windows cannot delete a file that is open.
            foreach (var entry in Directory.EnumerateFileSystemEntries(RealPath(root)).Where(e => Path.GetFileName(e) != RunLock))
                Delete(entry, data);
        }
        return Delete(RealPath(root), data) ? $"removed {root}" : KeptLine(root, env.DataRoot);
    }

    /// <summary>
    /// The experiment folders under the artifacts root: those holding a lock.json, or only the audit of a pinned experiment
    /// (verify writes it even where the experiment never ran), reserved names aside.
    /// </summary>
    public static IEnumerable<string> Experiments(PipelineEnvironment env) =>
        Directory.Exists(env.ArtifactsRoot)
            ? Directory.EnumerateDirectories(env.ArtifactsRoot)
                .Where(d => File.Exists(Path.Combine(d, "lock.json")) || Directory.Exists(Path.Combine(d, "audit")))
                .Select(Path.GetFileName)
                .OfType<string>()
                .Where(name => !SpecSchema.ReservedNames.ContainsKey(name))
                .Order(StringComparer.Ordinal)
            : [];

    /// <summary>
    /// Deletes the whole cache (partial shards included), every comparison and the report site; returns one line per folder that
    /// existed.
    /// </summary>
    public static IReadOnlyList<string> CleanCache(PipelineEnvironment env)
    {
        var data = Kept(env);
        var done = new List<string>();
        // The site is made from the experiments and comparisons: it goes with them rather than show results that are gone.
        foreach (var folder in new[] { env.CacheRoot, Path.Combine(env.ArtifactsRoot, "compare"), Path.Combine(env.ArtifactsRoot, "site") })
        {
            if (IsLink(folder)) done.Add(Unlink(folder));
            else if (Directory.Exists(folder))
                done.Add(Delete(RealPath(folder), data) ? $"removed {folder}" : KeptLine(folder, env.DataRoot));
        }
        return done;
    }

    /// <summary>The experiment's folder, or a refusal when the name could reach anything but one folder in the root.</summary>
    private static string OwnedFolder(PipelineEnvironment env, string experiment)
    {
        if (SpecSchema.ReservedNames.TryGetValue(experiment, out var why))
        {
            throw new CodiLabException($"'{experiment}' is not an experiment: the name is reserved ({why}).",
                env.ExperimentRoot(experiment), "clean experiments by their own names, or use 'clean --all'.", ExitCodes.InvalidSpec);
        }
        var root = Path.GetFullPath(env.ExperimentRoot(experiment));
        var single = experiment.Length > 0 && experiment is not ("." or "..")
            && experiment.IndexOfAny([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar]) < 0;
        if (!single || !string.Equals(Path.GetDirectoryName(root), Path.GetFullPath(env.ArtifactsRoot), PathComparison))
        {
            throw new CodiLabException($"the experiment name '{experiment}' resolves to {root}, which is not a folder directly "
                + $"under the artifacts root {env.ArtifactsRoot}; clean deletes nothing else.", null,
                "name the experiment by its folder name under the artifacts root (lowercase letters, digits, '-').",
                ExitCodes.InvalidSpec);
        }
        return root;
    }

    /// <summary>
    /// Deletes a path whose folders are real (no link along it) and what is inside it, never following a link and sparing
    /// the <paramref name="keep"/> paths and the folders on the way to them. True when the path is gone.
    /// </summary>
    private static bool Delete(string path, string[] keep)
    {
        if (keep.Any(k => string.Equals(path, k, PathComparison))) return false;
        if (IsLink(path))
        {
            Unlink(path);
            return true;
        }
        if (!Directory.Exists(path))
        {
            if (OperatingSystem.IsWindows()) File.SetAttributes(path, FileAttributes.Normal);
            File.Delete(path);
            return true;
        }
        MakeWritable(path);
        var all = true;
        foreach (var entry in Directory.EnumerateFileSystemEntries(path).ToList())
            all &= Delete(entry, keep);
        if (all) Directory.Delete(path);
        return all;
    }

    /// <summary>A folder made read-only (a committed cache entry) cannot lose its files until it is writable again.</summary>
    private static void MakeWritable(string folder)
    {
        if (OperatingSystem.IsWindows()) return;
        var mode = File.GetUnixFileMode(folder);
        const UnixFileMode needed = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        if ((mode & needed) != needed) File.SetUnixFileMode(folder, mode | needed);
    }

    private static bool IsLink(string path) => new FileInfo(path).LinkTarget is not null;

    /// <summary>Removes the link itself; what it points to is not touched.</summary>
    private static string Unlink(string path)
    {
        var target = new FileInfo(path).LinkTarget;
        if (OperatingSystem.IsWindows() && Directory.Exists(path)) Directory.Delete(path);
        else File.Delete(path);
        return $"removed the link {path} (its target {target} is left as it is)";
    }

    /// <summary>
    /// The data root where it really is, and the data root as named when that is itself a link (the link is kept too:
    /// removing it would lose the user's path to the data).
    /// </summary>
    private static string[] Kept(PipelineEnvironment env)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(env.DataRoot));
        var parent = Path.GetDirectoryName(full);
        return parent is null ? [RealPath(full)] : [RealPath(full), Path.Combine(RealPath(parent), Path.GetFileName(full))];
    }

    private static string KeptLine(string folder, string dataRoot) =>
        $"emptied {folder} but kept the data root {dataRoot} inside it (and the folders leading to it)";

    /// <summary>
    /// The absolute path with every symbolic link along it resolved, so that a data root reached through a link is still
    /// recognised inside the folder being deleted. Parts that do not exist are kept as written.
    /// </summary>
    internal static string RealPath(string path, int depth = 0)
    {
        var full = Path.GetFullPath(path);
        var current = Path.GetPathRoot(full)!;
        foreach (var part in full[current.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, part);
            var target = new FileInfo(current).LinkTarget;
            if (target is null) continue;
            if (depth > 40)
                throw new CodiLabException($"{path} goes through more than 40 symbolic links.", path, "remove the link loop.");
            current = RealPath(Path.Combine(Path.GetDirectoryName(current)!, target), depth + 1);
        }
        return Path.TrimEndingDirectorySeparator(current);
    }
}
