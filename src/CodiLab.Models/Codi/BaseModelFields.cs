using System.Text.Json;
using CodiLab.Models.Tokenizers;

namespace CodiLab.Models.Codi;

/// <summary>
/// The Hugging Face fields of a base model's <c>config.json</c> and <c>generation_config.json</c> that the
/// architecture (<see cref="Architectures.ModelConfig"/>) does not need but ids and a researcher do: start and end
/// token ids (an int or a list), stored dtype, <c>pretraining_tp</c>, <c>transformers_version</c>, tied head.
/// </summary>
/// <param name="BosTokenId">config.json's <c>bos_token_id</c>.</param>
/// <param name="ConfigEos">config.json's <c>eos_token_id</c> (empty when absent).</param>
/// <param name="GenerationEos">generation_config.json's <c>eos_token_id</c> (empty when absent).</param>
/// <param name="TorchDtype"><c>torch_dtype</c> (transformers 5: <c>dtype</c>).</param>
/// <param name="PretrainingTp"><c>pretraining_tp</c>.</param>
/// <param name="TransformersVersion"><c>transformers_version</c>.</param>
/// <param name="TieWordEmbeddings"><c>tie_word_embeddings</c>.</param>
/// <param name="ConfigPath">The config.json read, or null.</param>
/// <param name="GenerationConfigPath">The generation_config.json read, or null.</param>
public sealed record BaseModelFields(
    int? BosTokenId,
    IReadOnlyList<int> ConfigEos,
    IReadOnlyList<int> GenerationEos,
    string? TorchDtype,
    int? PretrainingTp,
    string? TransformersVersion,
    bool? TieWordEmbeddings,
    string? ConfigPath,
    string? GenerationConfigPath)
{
    /// <summary>
    /// Reads the model folder's files, then the tokenizer folder's for what the model folder lacks (a researcher
    /// may keep the base model's config beside its tokenizer); a malformed file is an error naming it.
    /// </summary>
    public static BaseModelFields Read(string modelFolder, string? tokenizerFolder = null)
    {
        var folders = tokenizerFolder is null || Path.GetFullPath(tokenizerFolder) == Path.GetFullPath(modelFolder)
            ? new[] { modelFolder } : [modelFolder, tokenizerFolder];
        var configs = folders.Select(f => Path.Combine(f, "config.json")).Where(File.Exists).ToList();
        var generations = folders.Select(f => Path.Combine(f, "generation_config.json")).Where(File.Exists).ToList();
        var config = configs.Select(p => (Path: p, Root: Parse(p))).ToList();
        var generation = generations.Select(p => (Path: p, Root: Parse(p))).ToList();
        T? First<T>(IEnumerable<(string Path, JsonElement Root)> files, Func<JsonElement, T?> get) =>
            files.Select(f => get(f.Root)).FirstOrDefault(v => v is not null);
        return new BaseModelFields(
            First(config, r => Int(r, "bos_token_id")),
            First(config, r => Ids(r, "eos_token_id")) ?? [],
            First(generation, r => Ids(r, "eos_token_id")) ?? [],
            First(config, r => Text(r, "torch_dtype") ?? Text(r, "dtype")),
            First(config, r => Int(r, "pretraining_tp")),
            First(config, r => Text(r, "transformers_version")),
            First(config, r => r.TryGetProperty("tie_word_embeddings", out var t)
                && t.ValueKind is JsonValueKind.True or JsonValueKind.False
                ? t.GetBoolean()
                : (bool?)null),
            configs.FirstOrDefault(),
            generations.FirstOrDefault());
    }

    /// <summary>config.json's start token for a tokenizer whose files name none (LLaMA), or null.</summary>
    public StartToken? ConfigStart => BosTokenId is { } id ? new StartToken(id, "", $"{ConfigPath} bos_token_id") : null;

    private static JsonElement Parse(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("the top level is not an object");
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(
                $"{Path.GetFileName(path)} is not valid JSON ({e.Message}).", path, "restore the base model's file.", e);
        }
    }

    private static int? Int(JsonElement r, string name) =>
        r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : null;

    private static string? Text(JsonElement r, string name) =>
        r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    // eos_token_id is an int (GPT-2, Llama-3.2 base) or a list (Llama-3.x Instruct).
    private static IReadOnlyList<int>? Ids(JsonElement r, string name)
    {
        if (!r.TryGetProperty(name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.Number => [v.GetInt32()],
            JsonValueKind.Array => [.. v.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Number).Select(e => e.GetInt32())],
            _ => null,
        };
    }
}

/// <summary>The EOS ids decoding stops on and where they came from.</summary>
public sealed record EosChoice(IReadOnlyList<int> Ids, string Source);

/// <summary>
/// The one EOS rule, the same for tokenizer.json and original/tokenizer.model: ids given explicitly
/// (<c>--eos</c> on <c>trace</c> and <c>inspect</c>) win; else the tokenizer's end tokens, because the official CODI
/// evaluation stops on the tokenizer's EOS (all of &lt;|end_of_text|&gt;, &lt;|eom_id|&gt;, &lt;|eot_id|&gt;, so the
/// base tokenizer's 128001 and the Instruct one's 128009 both stop); only a tokenizer that names no end token
/// falls back to generation_config.json's <c>eos_token_id</c>, then config.json's. The config ids are otherwise
/// not used to stop; <c>doctor</c> checks that they are among the tokenizer's.
/// </summary>
public static class EosRule
{
    /// <summary>Applies the rule; no ids from any source is an error saying how to give them.</summary>
    public static EosChoice Resolve(IReadOnlyList<int>? explicitIds, CodiTokenizer tokenizer, BaseModelFields fields, string where)
    {
        if (explicitIds is { Count: > 0 }) return new EosChoice(explicitIds, "given explicitly (--eos)");
        if (tokenizer.Eos.Count > 0) return new EosChoice(tokenizer.Eos, tokenizer.EosSource);
        if (fields.GenerationEos.Count > 0)
            return new EosChoice(fields.GenerationEos, $"{fields.GenerationConfigPath} eos_token_id (the tokenizer names no end token)");
        if (fields.ConfigEos.Count > 0)
            return new EosChoice(fields.ConfigEos, $"{fields.ConfigPath} eos_token_id (the tokenizer names no end token)");
        throw new ModelFormatException(
            "no end-of-sequence token: the tokenizer names none and neither generation_config.json nor config.json has eos_token_id.",
            where,
            "use the base model's own tokenizer files (or add eos_token_id to its config.json); for a single trace, --eos gives the ids.");
    }
}
