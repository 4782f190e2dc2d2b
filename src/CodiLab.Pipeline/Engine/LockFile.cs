using System.Text.Json;

namespace CodiLab.Pipeline.Engine;

/// <summary>What one stage was last run (or found cached) with: like a <c>dvc.lock</c> entry.</summary>
public sealed record LockedStage(
    string Phase,
    int Version,
    string Harness,
    string Key,
    SortedDictionary<string, string> Fields,
    SortedDictionary<string, string> Inputs,
    SortedDictionary<string, FileDigest> Outputs);

/// <summary>
/// <c>artifacts/&lt;experiment&gt;/lock.json</c>: per stage its key, the fields and input hashes it used, its outputs' hashes.
/// </summary>
public sealed record LockFile(string Experiment, string Spec, SortedDictionary<string, LockedStage> Stages)
{
    /// <summary>Reads the lock file of an experiment folder, or an empty one.</summary>
    public static LockFile Read(string experimentRoot, string experiment, string spec)
    {
        var path = Path.Combine(experimentRoot, "lock.json");
        if (!File.Exists(path)) return new LockFile(experiment, spec, new(StringComparer.Ordinal));
        try
        {
            return JsonSerializer.Deserialize<LockFile>(File.ReadAllText(path), Hashing.Json) ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new CodiLabException($"the lock file is unreadable ({e.Message}).", path,
                "delete it; the next run rebuilds it from the cache without recomputing cached stages.", ExitCodes.Corrupt, e);
        }
    }

    /// <summary>Writes it atomically.</summary>
    public void Write(string experimentRoot) =>
        Hashing.WriteAtomic(Path.Combine(experimentRoot, "lock.json"), JsonSerializer.Serialize(this, Hashing.Json));
}

/// <summary>One stage execution, for <c>provenance.json</c> (kept apart from anything pinned or hashed).</summary>
public sealed record StageProvenance(
    string Key, DateTimeOffset Started, DateTimeOffset Finished, double Seconds, string Host, string? GitCommit, string Harness,
    string Runtime, string Os);

/// <summary><c>artifacts/&lt;experiment&gt;/provenance.json</c>: when, where and with what each stage last ran.</summary>
public sealed record Provenance(SortedDictionary<string, StageProvenance> Stages)
{
    /// <summary>Reads it, or an empty one (an unreadable file is replaced: provenance is informative only).</summary>
    public static Provenance Read(string experimentRoot)
    {
        var path = Path.Combine(experimentRoot, "provenance.json");
        try
        {
            if (File.Exists(path) && JsonSerializer.Deserialize<Provenance>(File.ReadAllText(path), Hashing.Json) is { } p) return p;
        }
        catch (JsonException)
        {
        }
        return new Provenance(new SortedDictionary<string, StageProvenance>(StringComparer.Ordinal));
    }

    /// <summary>Writes it atomically.</summary>
    public void Write(string experimentRoot) =>
        Hashing.WriteAtomic(Path.Combine(experimentRoot, "provenance.json"), JsonSerializer.Serialize(this, Hashing.Json));
}
