using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CodiLab.Models.Architectures;
using static TorchSharp.torch;

namespace CodiLab.Models.Codi;

/// <summary>
/// A cache of loaded networks: every parameter, LoRA merged, as one float32 file beside a JSON index, keyed by the
/// checkpoint's identity. A later load maps the file (<c>torch.from_file</c>, private: nothing is ever written back) and
/// points each parameter at its slice, so nothing is converted, merged or copied. The pages come from the page cache;
/// on a virtual machine, where every fresh page is faulted in from the host (about 4 s per GB measured on the 2-core build
/// box), this is what makes a second load of a 1B model take seconds instead of twenty. An entry is written to a
/// temporary name and renamed into place, so a load never sees half an entry; one that does not match the network
/// (another shape, a short file) is ignored and the checkpoint is loaded again.
/// </summary>
public static class MergedWeights
{
    /// <summary>Bumped when what a load computes changes, so older entries are never used.</summary>
    public const int Version = 1;

    private sealed record Entry(string Name, long[] Shape, long Offset);

    private sealed record Index(int Version, long Values, IReadOnlyList<Entry> Parameters, IReadOnlyList<KeyReport> Keys,
        IReadOnlyList<string> Notes);

    /// <summary>
    /// The key of a checkpoint as loaded with these settings: the checkpoint's size, time and header, 16 samples of 64 KB
    /// spread over it, the folder's config.json and codi.json, and the LoRA settings, hashed (reading about 1 MB).
    /// </summary>
    public static string KeyOf(string folder, string checkpoint, int loraR, double loraAlpha)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var info = new FileInfo(checkpoint);
        sha.AppendData(Encoding.UTF8.GetBytes(FormattableString.Invariant(
            $"v{Version}|{Path.GetFullPath(checkpoint)}|{info.Length}|{info.LastWriteTimeUtc.Ticks}|r{loraR}|a{loraAlpha:R}|")));
        foreach (var name in new[] { "config.json", "codi.json", "adapter_config.json" })
            if (File.Exists(Path.Combine(folder, name))) sha.AppendData(File.ReadAllBytes(Path.Combine(folder, name)));
        using var file = File.OpenRead(checkpoint);
        var sample = new byte[64 << 10];
        for (int i = 0; i < 16; i++)
        {
            file.Position = info.Length <= sample.Length ? 0 : (info.Length - sample.Length) * i / 15;
            sha.AppendData(sample, 0, file.Read(sample));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>The network from a cache entry, or null when there is none or it does not fit this configuration.</summary>
    public static LoadedCheckpoint? TryLoad(string cache, string key, ModelConfig config, string checkpoint)
    {
        var (data, indexPath) = Paths(cache, key);
        if (!File.Exists(data) || !File.Exists(indexPath)) return null;
        Index? index;
        try
        {
            index = JsonSerializer.Deserialize<Index>(File.ReadAllText(indexPath));
        }
        catch (JsonException)
        {
            return null;
        }
        if (index is null || index.Version != Version || new FileInfo(data).Length != index.Values * sizeof(float)) return null;
        var network = new CodiNetwork(config);
        try
        {
            var parameters = network.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            var entries = index.Parameters.ToDictionary(e => e.Name);
            if (parameters.Count != entries.Count
                || parameters.Any(p => !entries.TryGetValue(p.Key, out var e) || !e.Shape.SequenceEqual(p.Value.shape)))
            {
                network.Dispose();
                return null;
            }
            using var _ = no_grad();
            using var mapped = from_file(data, shared: false, size: index.Values, dtype: ScalarType.Float32);
            foreach (var (name, p) in parameters)
            {
                var e = entries[name];
                using var slice = mapped.narrow(0, e.Offset, p.numel()).view(e.Shape);
                p.set_(slice);
            }
            return new LoadedCheckpoint(network, config, checkpoint, index.Keys,
                [.. index.Notes, $"weights mapped from the merged-weights cache ({key[..12]})"]);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>Writes a loaded network's parameters as a cache entry (temporary name, then renamed into place).</summary>
    public static void Save(string cache, string key, LoadedCheckpoint loaded)
    {
        Directory.CreateDirectory(cache);
        var (data, indexPath) = Paths(cache, key);
        var entries = new List<Entry>();
        long offset = 0;
        var (partial, partialIndex) = (data + ".partial", indexPath + ".partial");
        try
        {
            using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                foreach (var (name, p) in loaded.Network.named_parameters())
                {
                    using var values = p.detach().to_type(ScalarType.Float32).cpu().contiguous();
                    file.Write(values.bytes);
                    entries.Add(new Entry(name, p.shape, offset));
                    offset += p.numel();
                }
            }
            File.WriteAllText(partialIndex, JsonSerializer.Serialize(new Index(Version, offset, entries, loaded.Keys, loaded.Notes)));
            File.Move(partial, data, overwrite: true);
            File.Move(partialIndex, indexPath, overwrite: true);
        }
        finally
        {
            // A write that failed (a full disk) leaves nothing behind; one that succeeded has moved both files already.
            File.Delete(partial);
            File.Delete(partialIndex);
        }
    }

    private static (string Data, string Index) Paths(string cache, string key) =>
        (Path.Combine(cache, key + ".f32"), Path.Combine(cache, key + ".json"));
}
