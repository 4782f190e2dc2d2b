using CodiLab.Pipeline.Engine;
using CodiLab.Specs;

namespace CodiLab.Pipeline.Extraction;

/// <summary>
/// A checkpoint spec's model as external inputs: the folder at <c>model.path</c> (and <c>model.tokenizer</c>),
/// identified by the hashes of the files that decide what it computes; a missing or incomplete folder fails here,
/// before anything runs.
/// </summary>
public static class ModelInputs
{
    /// <summary>The checkpoint folder of a <c>checkpoint</c> spec as an external input (hash of its files), or nothing.</summary>
    public static IReadOnlyList<ExternalInput> Resolve(ExperimentSpec spec, PipelineEnvironment env)
    {
        if (spec.Model.IsGenerated) return [];
        var folder = spec.Model.FullPath!;
        var where = spec.MarkOf("model.path").ToString();
        if (!Directory.Exists(folder) || !File.Exists(Path.Combine(folder, "config.json")))
            throw new CodiLabException($"the CODI checkpoint folder {folder} does not exist or has no config.json.", where,
                "put the CODI checkpoint there (model.safetensors or pytorch_model.bin as the official training saves it, "
                + "with the base model's config.json and tokenizer files: docs/model-folder.md), or point model.path at it.",
                ExitCodes.BadInput);
        var files = ModelFiles(folder);
        if (!files.Any(f => f.EndsWith(".safetensors", StringComparison.Ordinal) || f.EndsWith(".bin", StringComparison.Ordinal)))
            throw new CodiLabException($"the folder {folder} holds neither model.safetensors nor pytorch_model.bin.", where,
                "copy the checkpoint the official CODI training saved into it.", ExitCodes.BadInput);
        var inputs = new List<ExternalInput> { new("model", FolderHash(folder, files, env), folder) };
        if (spec.Model.TokenizerPath is { } tok)
        {
            if (!Directory.Exists(tok))
            {
                throw new CodiLabException($"the tokenizer folder {tok} does not exist.", spec.MarkOf("model.tokenizer").ToString(),
                    "point model.tokenizer at the base model's tokenizer files, or remove it to use model.path.", ExitCodes.BadInput);
            }
            inputs.Add(new ExternalInput("tokenizer", FolderHash(tok, ModelFiles(tok), env), tok));
        }
        return inputs;
    }

    // The files that decide what the folder computes: config, checkpoint, tokenizer, CODI settings.
    private static List<string> ModelFiles(string folder)
    {
        string[] names =
        [
            "config.json",
            "model.safetensors",
            "pytorch_model.bin",
            "tokenizer.json",
            "vocab.json",
            "merges.txt",
            "codi.json",
            "adapter_config.json",
            "original/tokenizer.model",
        ];
        return [.. names.Where(n => File.Exists(System.IO.Path.Combine(folder, n)))];
    }

    private static string FolderHash(string folder, List<string> files, PipelineEnvironment env) =>
        Hashing.Sha256(string.Join("\n", files.Select(f =>
            $"{f} {FileHashMemo.Sha256(System.IO.Path.Combine(folder, f), env.CacheRoot)}")));
}
