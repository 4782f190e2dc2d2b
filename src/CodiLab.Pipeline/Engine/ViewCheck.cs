namespace CodiLab.Pipeline.Engine;

/// <summary>One view file that no longer matched the lock file, and what was done about it.</summary>
/// <param name="Path">The view file.</param>
/// <param name="Problem">What differs.</param>
/// <param name="Restored">True when it was copied back from its (intact) cache entry; false when only flagged.</param>
/// <param name="Fix">What the user can do about a flagged one.</param>
public sealed record ViewIssue(string Path, string Problem, bool Restored, string Fix = "run the experiment again to rebuild it.");

/// <summary>
/// The readable views (<c>artifacts/&lt;experiment&gt;/&lt;Phase&gt;/…</c>, <c>artifacts/compare/&lt;pair&gt;/…</c>) are
/// copies of cache entries. A hand edit there is never trusted: it is found by hash against the lock file's output hashes
/// and the file is restored from its cache entry, or flagged when the entry is gone.
/// </summary>
public static class ViewCheck
{
    /// <summary>The files of <paramref name="entry"/> whose copy under <paramref name="view"/> is missing or differs.</summary>
    public static IReadOnlyList<string> Differences(string view, CacheManifest entry) => Differences(view, entry.Files);

    /// <summary>The files whose copy under <paramref name="view"/> is missing or differs from <paramref name="expected"/>.</summary>
    public static IReadOnlyList<string> Differences(string view, IReadOnlyDictionary<string, FileDigest> expected) =>
        expected.Where(f => Problem(Path.Combine(view, f.Key), f.Value) is not null).Select(f => f.Key).ToList();

    /// <summary>
    /// <see cref="Differences(string, CacheManifest)"/> for a plan, which only reports: a file whose size is right and whose
    /// stamp (size, times, inode) is the one its hash was last taken at is trusted without rehashing (memo
    /// <c>cache/.view-hashes.json</c>), so planning large views stays cheap. A run and <c>verify</c> always rehash.
    /// </summary>
    public static IReadOnlyList<string> DifferencesByStamp(string view, CacheManifest entry, string cacheRoot)
    {
        var sized = entry.Files.Where(f => new FileInfo(Path.Combine(view, f.Key)) is { Exists: true } info && info.Length == f.Value.Size)
            .ToDictionary(f => Path.Combine(view, f.Key), f => f.Value.Sha256);
        var hashes = FileHashMemo.Sha256Many(sized.Keys, cacheRoot, ".view-hashes.json");
        return entry.Files.Where(f => !sized.TryGetValue(Path.Combine(view, f.Key), out var want) || hashes[Path.Combine(view, f.Key)] != want)
            .Select(f => f.Key).ToList();
    }

    /// <summary>What is wrong with one view file, or null when its bytes are the expected ones.</summary>
    public static string? Problem(string path, FileDigest expected)
    {
        var info = new FileInfo(path);
        if (!info.Exists) return "missing";
        if (info.Length != expected.Size) return $"{info.Length} bytes, lock file says {expected.Size}";
        var actual = Hashing.File(path).Sha256;
        return actual == expected.Sha256 ? null : $"SHA-256 {actual[..12]}…, lock file says {expected.Sha256[..12]}…";
    }

    /// <summary>
    /// Rehashes the views of every experiment and comparison under the artifacts root against their lock files; restores
    /// what differs from the cache when the entry is intact, flags it otherwise.
    /// </summary>
    public static IReadOnlyList<ViewIssue> VerifyAll(PipelineEnvironment env, ArtifactCache cache)
    {
        var issues = new List<ViewIssue>();
        foreach (var name in Housekeeping.Experiments(env))
            Verify(env.ExperimentRoot(name), name, flat: false, cache, issues);
        var compare = Path.Combine(env.ArtifactsRoot, "compare");
        if (Directory.Exists(compare))
        {
            foreach (var dir in Directory.EnumerateDirectories(compare).Order(StringComparer.Ordinal))
                if (File.Exists(Path.Combine(dir, "lock.json"))) Verify(dir, Path.GetFileName(dir), flat: true, cache, issues);
        }
        return issues;
    }

    private static void Verify(string root, string name, bool flat, ArtifactCache cache, List<ViewIssue> issues)
    {
        LockFile lockFile;
        try
        {
            lockFile = LockFile.Read(root, name, name);
        }
        catch (CodiLabException e)
        {
            issues.Add(new ViewIssue(Path.Combine(root, "lock.json"), e.What, Restored: false, e.Fix ?? "delete it."));
            return;
        }
        foreach (var (stage, locked) in lockFile.Stages)
        {
            var view = flat ? root : Path.Combine(root, locked.Phase);
            foreach (var (file, digest) in locked.Outputs)
            {
                var path = Path.Combine(view, file);
                if (Problem(path, digest) is not { } problem) continue;
                var restored = cache.Check(locked.Key, out _) is null && cache.TryOpen(locked.Key) is { } entry
                    && entry.Files.TryGetValue(file, out var cached) && cached == digest;
                if (restored) Restore(cache.EntryPath(locked.Key), file, path);
                var why = restored ? "restored from the cache" : $"its cache entry {locked.Key[..12]} (stage {stage}) is gone or corrupt";
                issues.Add(new ViewIssue(path, $"{problem}; {why}", restored));
            }
        }
    }

    private static void Restore(string entryDir, string file, string target)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temp = $"{target}.tmp-{Environment.ProcessId}";
        File.Copy(Path.Combine(entryDir, file), temp, overwrite: true);
        // The copy keeps the entry's read-only bits; a view is the user's to open and annotate.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, File.GetUnixFileMode(temp) | UnixFileMode.UserWrite);
        else File.SetAttributes(temp, FileAttributes.Normal);
        File.Move(temp, target, overwrite: true);
    }
}
