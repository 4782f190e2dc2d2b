using System.Text.Json;

namespace CodiLab.Pipeline.Engine;

/// <summary>
/// SHA-256 of large input files (checkpoints), remembered in <c>cache/.hashes.json</c> by full path, size and
/// modification time, so a plan does not rehash gigabytes each time. A changed size or time rehashes.
/// </summary>
public static class FileHashMemo
{
    private static readonly object Gate = new();

    /// <summary>The file's SHA-256 (lowercase hex).</summary>
    public static string Sha256(string path, string cacheRoot)
    {
        var info = new FileInfo(path);
        var stamp = $"{info.Length}:{info.LastWriteTimeUtc.Ticks}";
        var memoPath = Path.Combine(cacheRoot, ".hashes.json");
        lock (Gate)
        {
            var memo = Load(memoPath);
            if (memo.TryGetValue(info.FullName, out var entry) && entry.Length == 2 && entry[0] == stamp) return entry[1];
            var hash = Hashing.File(path).Sha256;
            memo[info.FullName] = [stamp, hash];
            try
            {
                Hashing.WriteAtomic(memoPath, JsonSerializer.Serialize(memo));
            }
            catch (IOException)
            {
                // The memo is only a shortcut; a read-only cache still works.
            }
            return hash;
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
