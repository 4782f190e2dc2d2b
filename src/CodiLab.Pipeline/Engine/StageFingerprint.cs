using System.Text.Json;

namespace CodiLab.Pipeline.Engine;

/// <summary>
/// What decides a stage's freshness, in one value: the harness version, the stage's name and version, its field
/// material (the canonical text of its parameters record) and the hashes of its inputs. The cache key is the SHA-256
/// of this value's canonical JSON, and the lock entry is this value plus the outputs' hashes, so the two can never
/// be assembled differently.
/// </summary>
public sealed record StageFingerprint(
    string Harness, string Stage, int Version, SortedDictionary<string, string> Fields, SortedDictionary<string, string> Inputs)
{
    /// <summary>The cache key.</summary>
    public string Key => Hashing.Sha256(JsonSerializer.Serialize(new SortedDictionary<string, object>(StringComparer.Ordinal)
    {
        ["harness"] = Harness, ["stage"] = Stage, ["version"] = Version, ["fields"] = Fields, ["inputs"] = Inputs,
    }));

    /// <summary>The lock entry of a committed (or reused) entry with this fingerprint.</summary>
    public LockedStage LockEntry(string phase, CacheManifest manifest) =>
        new(phase, Version, Harness, Key, Fields, Inputs, new SortedDictionary<string, FileDigest>(manifest.Files, StringComparer.Ordinal));
}
