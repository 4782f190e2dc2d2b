using System.Text.Json;

namespace CodiLab.Pipeline.Engine;

/// <summary>One remembered file whose bytes no longer match its memoised hash although its stamp did.</summary>
public sealed record MemoDrift(string Path, string Remembered, string Actual);

/// <summary>
/// SHA-256 of large input files (checkpoints), remembered in <c>cache/.hashes.json</c> by full path and
/// <see cref="FileStamp"/> (size, modification time, ctime, inode), so a plan does not rehash gigabytes each time. Any
/// change of the stamp rehashes; <c>verify --deep</c> (<see cref="Recheck"/>) rehashes every remembered file regardless.
/// </summary>
public static class FileHashMemo
{
    private static readonly object Gate = new();

    private static string MemoPath(string cacheRoot) => Path.Combine(cacheRoot, ".hashes.json");

    /// <summary>The file's SHA-256 (lowercase hex).</summary>
    public static string Sha256(string path, string cacheRoot)
    {
        var info = new FileInfo(path);
        var stamp = FileStamp.Of(path);
        lock (Gate)
        {
            var memo = Load(MemoPath(cacheRoot));
            if (memo.TryGetValue(info.FullName, out var entry) && entry.Length == 2 && entry[0] == stamp) return entry[1];
            var hash = Hashing.File(path).Sha256;
            memo[info.FullName] = [stamp, hash];
            Save(MemoPath(cacheRoot), memo);
            return hash;
        }
    }

    /// <summary>
    /// Rehashes every remembered file that still exists, ignoring stamps; returns those whose bytes changed behind an
    /// unchanged stamp (or whose stamp changed), and remembers their new hashes. Files that are gone are forgotten.
    /// </summary>
    public static IReadOnlyList<MemoDrift> Recheck(string cacheRoot, out int files)
    {
        var drift = new List<MemoDrift>();
        lock (Gate)
        {
            var memo = Load(MemoPath(cacheRoot));
            files = 0;
            foreach (var (path, entry) in memo.ToList())
            {
                if (!File.Exists(path))
                {
                    memo.Remove(path);
                    continue;
                }
                files++;
                var hash = Hashing.File(path).Sha256;
                if (entry.Length != 2 || entry[1] != hash) drift.Add(new MemoDrift(path, entry.Length == 2 ? entry[1] : "?", hash));
                memo[path] = [FileStamp.Of(path), hash];
            }
            if (files > 0 || memo.Count > 0) Save(MemoPath(cacheRoot), memo);
        }
        return drift;
    }

    /// <summary>
    /// SHA-256 of many existing files by full path, remembered in <c>cache/&lt;memoFile&gt;</c> by the same stamp: one read and
    /// at most one write of the memo. Used for the readable views, in a memo of their own so <c>verify --deep</c>'s recheck of
    /// external inputs never mistakes a view edited by hand for a changed checkpoint.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Sha256Many(IEnumerable<string> paths, string cacheRoot, string memoFile)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        lock (Gate)
        {
            var memoPath = Path.Combine(cacheRoot, memoFile);
            var memo = Load(memoPath);
            var changed = false;
            foreach (var path in paths)
            {
                var full = Path.GetFullPath(path);
                var stamp = FileStamp.Of(full);
                if (!memo.TryGetValue(full, out var entry) || entry.Length != 2 || entry[0] != stamp)
                {
                    memo[full] = entry = [stamp, Hashing.File(full).Sha256];
                    changed = true;
                }
                result[path] = entry[1];
            }
            if (changed) Save(memoPath, memo);
        }
        return result;
    }

    private static void Save(string memoPath, Dictionary<string, string[]> memo)
    {
        try
        {
            Hashing.WriteAtomic(memoPath, JsonSerializer.Serialize(memo));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The memo is only a shortcut; a read-only cache still works.
        }
    }

    private static Dictionary<string, string[]> Load(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<Dictionary<string, string[]>>(File.ReadAllText(path)) ?? [] : [];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}
