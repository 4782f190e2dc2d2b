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
            Save(cacheRoot, memo);
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
            if (files > 0 || memo.Count > 0) Save(cacheRoot, memo);
        }
        return drift;
    }

    private static void Save(string cacheRoot, Dictionary<string, string[]> memo)
    {
        try
        {
            Hashing.WriteAtomic(MemoPath(cacheRoot), JsonSerializer.Serialize(memo));
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
