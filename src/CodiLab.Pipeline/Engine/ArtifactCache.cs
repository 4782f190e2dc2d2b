using System.Diagnostics;
using System.Text.Json;

namespace CodiLab.Pipeline.Engine;

/// <summary>What a cache entry holds: its key, the stage that made it, and every file's size and hash.</summary>
public sealed record CacheManifest(
    string Key, string Stage, int StageVersion, string Harness, DateTimeOffset Created, SortedDictionary<string, FileDigest> Files);

/// <summary>The result of rehashing one entry.</summary>
public sealed record EntryCheck(string Key, string? Stage, string? Problem);

/// <summary>
/// The content-addressed cache under <c>artifacts/cache/&lt;key&gt;/</c>. Entries are built in a temporary folder
/// and renamed into place, so an entry either exists whole or not at all; once there they are never changed, and they are
/// made read-only (<see cref="ReadOnlyTree"/>) so that nothing else changes them by accident. A corrupt entry is moved to
/// <c>cache/.corrupt/</c> and never used again.
/// </summary>
public sealed class ArtifactCache(string root)
{
    /// <summary>The name of the manifest inside each entry.</summary>
    public const string ManifestName = "manifest.json";

    private string TempRoot => Path.Combine(root, ".tmp");
    private string CorruptRoot => Path.Combine(root, ".corrupt");

    /// <summary>The folder of an entry (whether or not it exists).</summary>
    public string EntryPath(string key) => Path.Combine(root, key);

    /// <summary>
    /// The manifest of an entry that looks whole (manifest readable, every file present with its recorded size);
    /// null otherwise. Contents are rehashed by <see cref="Verify"/> and whenever files are copied out.
    /// </summary>
    public CacheManifest? TryOpen(string key)
    {
        var dir = EntryPath(key);
        var manifestPath = Path.Combine(dir, ManifestName);
        if (!File.Exists(manifestPath)) return null;
        CacheManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<CacheManifest>(File.ReadAllText(manifestPath), Hashing.Json);
        }
        catch (JsonException)
        {
            return null;
        }
        if (manifest is null || manifest.Key != key) return null;
        foreach (var (name, digest) in manifest.Files)
        {
            var file = new FileInfo(Path.Combine(dir, name));
            if (!file.Exists || file.Length != digest.Size) return null;
        }
        return manifest;
    }

    /// <summary>A new temporary folder for a stage to write into; its name carries the process id.</summary>
    public string NewTempFolder()
    {
        var dir = Path.Combine(TempRoot, $"{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Removes temporary folders left by processes that no longer run (a killed stage leaves one).</summary>
    public void RemoveAbandonedTempFolders()
    {
        if (!Directory.Exists(TempRoot)) return;
        foreach (var dir in Directory.EnumerateDirectories(TempRoot))
        {
            var name = Path.GetFileName(dir);
            var dash = name.IndexOf('-');
            var owner = dash > 0 && int.TryParse(name[..dash], out var pid) ? pid : -1;
            if (owner == Environment.ProcessId || (owner > 0 && IsAlive(owner))) continue;
            // A killed forced rebuild can leave a sealed old entry here, so unlock before deleting.
            ReadOnlyTree.Delete(dir);
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// Hashes the files a stage wrote in <paramref name="tempFolder"/>, writes the manifest and renames the folder
    /// into place. With <paramref name="replace"/> an existing entry of the same key is moved away first.
    /// </summary>
    public CacheManifest Commit(string tempFolder, string key, Stage stage, bool replace)
    {
        var files = new SortedDictionary<string, FileDigest>(StringComparer.Ordinal);
        foreach (var output in stage.Outputs)
        {
            var path = Path.Combine(tempFolder, output);
            if (!File.Exists(path))
                throw new InvalidOperationException($"stage '{stage.Name}' did not write its declared output '{output}'");
            files[output] = Hashing.File(path);
        }
        var manifest = new CacheManifest(key, stage.Name, stage.Version, HarnessInfo.Version, DateTimeOffset.UtcNow, files);
        File.WriteAllText(Path.Combine(tempFolder, ManifestName), JsonSerializer.Serialize(manifest, Hashing.Json));
        var target = EntryPath(key);
        if (Directory.Exists(target))
        {
            if (!replace && TryOpen(key) is { } existing)
            {
                ReadOnlyTree.Delete(tempFolder);
                return existing;
            }
            // A forced rerun replaces the entry: move the old one aside first so the rename below is atomic.
            var old = Path.Combine(TempRoot, $"{Environment.ProcessId}-replaced-{Guid.NewGuid():N}");
            ReadOnlyTree.Move(target, old, sealAgain: false);
            ReadOnlyTree.Delete(old);
        }
        // Files are sealed before the rename and folders after it: moving a folder to another parent needs it writable.
        ReadOnlyTree.Seal(tempFolder, folders: false);
        Directory.Move(tempFolder, target);
        ReadOnlyTree.Seal(target);
        return manifest;
    }

    /// <summary>Rehashes every entry; corrupt ones are moved to <c>cache/.corrupt/</c> and reported.</summary>
    public IReadOnlyList<EntryCheck> Verify()
    {
        var results = new List<EntryCheck>();
        if (!Directory.Exists(root)) return results;
        foreach (var dir in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
        {
            var key = Path.GetFileName(dir);
            if (key.StartsWith('.')) continue;
            var problem = Check(key, out var stage);
            if (problem is not null) Quarantine(key);
            results.Add(new EntryCheck(key, stage, problem));
        }
        return results;
    }

    /// <summary>Rehashes one entry; returns a description of what is wrong, or null when it is whole.</summary>
    public string? Check(string key, out string? stage)
    {
        stage = null;
        var dir = EntryPath(key);
        var manifestPath = Path.Combine(dir, ManifestName);
        if (!File.Exists(manifestPath)) return "no manifest";
        CacheManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<CacheManifest>(File.ReadAllText(manifestPath), Hashing.Json);
        }
        catch (JsonException e)
        {
            return $"manifest unreadable ({e.Message})";
        }
        if (manifest is null || manifest.Key != key) return "manifest names another key";
        stage = manifest.Stage;
        foreach (var (name, digest) in manifest.Files)
        {
            var path = Path.Combine(dir, name);
            if (!File.Exists(path)) return $"{name} is missing";
            var actual = Hashing.File(path);
            if (actual.Size != digest.Size) return $"{name} has {actual.Size} bytes, manifest says {digest.Size}";
            if (actual.Sha256 != digest.Sha256) return $"{name} has SHA-256 {actual.Sha256[..12]}…, manifest says {digest.Sha256[..12]}…";
        }
        return null;
    }

    /// <summary>Moves an entry to <c>cache/.corrupt/</c> so it is never used again (kept for inspection).</summary>
    public void Quarantine(string key)
    {
        Directory.CreateDirectory(CorruptRoot);
        ReadOnlyTree.Move(EntryPath(key), Path.Combine(CorruptRoot, $"{key}-{DateTime.UtcNow:yyyyMMddHHmmssfff}"), sealAgain: false);
    }
}
