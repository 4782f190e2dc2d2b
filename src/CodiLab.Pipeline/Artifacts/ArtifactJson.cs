using System.Text.Json;

namespace CodiLab.Pipeline.Artifacts;

/// <summary>
/// Reads and writes typed artifacts as indented JSON (field names from each record's <c>[JsonPropertyName]</c>).
/// A file that does not parse into its record is a corrupt artifact: the error names the file.
/// </summary>
public static class ArtifactJson
{
    /// <summary>The options every artifact is written with.</summary>
    public static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    /// <summary>Writes a record to a file.</summary>
    public static void Write<T>(string path, T value) => File.WriteAllText(path, JsonSerializer.Serialize(value, Options));

    /// <summary>Reads a record from a file.</summary>
    public static T Read<T>(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Options)
                ?? throw new JsonException("the file holds null");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new CodiLabException($"the artifact {path} cannot be read as {typeof(T).Name} ({e.Message}).", path,
                "run 'codilab verify' (it quarantines corrupt cache entries), then run the stage again.", ExitCodes.Corrupt, e);
        }
    }

    /// <summary>Writes a record in canonical form (sorted keys, fixed rounding): what pins hold.</summary>
    public static void WriteCanonical<T>(string path, T value) =>
        File.WriteAllText(path, CodiLab.Analysis.CanonicalJson.Text(JsonSerializer.SerializeToNode(value, Options)!));
}
