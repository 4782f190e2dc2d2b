using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace CodiLab.Pipeline.Engine;

/// <summary>SHA-256 helpers and atomic writes.</summary>
public static class Hashing
{
    /// <summary>SHA-256 of a string (UTF-8), lowercase hex.</summary>
    public static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>SHA-256 and size of a file.</summary>
    public static FileDigest File(string path)
    {
        using var stream = System.IO.File.OpenRead(path);
        return new FileDigest(stream.Length, Convert.ToHexStringLower(SHA256.HashData(stream)));
    }

    /// <summary>JSON options for every file the engine writes (lock, manifest, provenance): indented, stable.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Writes a file through a temporary sibling and a rename, so readers never see half a file.</summary>
    public static void WriteAtomic(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.tmp-{Environment.ProcessId}";
        System.IO.File.WriteAllText(temp, text);
        System.IO.File.Move(temp, path, overwrite: true);
    }
}

/// <summary>Size and SHA-256 of a file.</summary>
public sealed record FileDigest(long Size, string Sha256);
