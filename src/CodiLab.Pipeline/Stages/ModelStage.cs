using CodiLab.Models;
using CodiLab.Models.Codi;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Extraction;
using CodiLab.Specs;

namespace CodiLab.Pipeline.Stages;

/// <summary>
/// Where an experiment's model comes from. <c>model.source: generated</c> — the <c>model</c> stage writes a
/// tiny CODI folder from the seed (docs/model-folder.md#generated-models) into the cache; <c>checkpoint</c> — the folder at
/// <c>model.path</c> is an external input identified by the hashes of its files.
/// </summary>
public static class ModelStage
{
    /// <summary>The folder, inside the stage's output, holding the generated model.</summary>
    public const string Folder = "model";

    /// <summary>The stage that generates the model (only for <c>model.source: generated</c>).</summary>
    public static Stage For(ExperimentSpec spec)
    {
        string[] tokenizer = spec.Model.Arch == Arch.Llama ? ["original/tokenizer.model"] : ["vocab.json", "merges.txt"];
        string[] files = ["config.json", "codi.json", "model.safetensors", .. tokenizer];
        return Stage.Create("model", "Phase1", 1, ModelParameters.From, upstream: [], outputs: [.. files.Select(f => $"{Folder}/{f}")],
            execute: Generate, externals: CheckSeed);
    }

    // The generator's random source takes a 31-bit seed; a larger one cannot be mapped without two seeds making the same
    // model, so it is refused. As an external check it blocks the plan and stops a run before anything is written.
    private static IReadOnlyList<ExternalInput> CheckSeed(ExperimentSpec spec, PipelineEnvironment env)
    {
        if (spec.Seed <= int.MaxValue) return [];
        throw new CodiLabException($"seed {spec.Seed} is above {int.MaxValue}, the largest seed a generated model can be made from "
            + "(sampling and synthetic datasets take the whole range 0 … 4294967295).", spec.MarkOf("seed").ToString(),
            $"use a seed of at most {int.MaxValue} with model.source: generated, or a checkpoint model.", ExitCodes.InvalidSpec);
    }

    private static void Generate(StageContext ctx, ModelParameters m)
    {
        TorchRuntime.Initialize();
        var shape = TinyShape.Default with { LoraR = m.LoraR, LoraAlpha = m.LoraAlpha };
        var sha = TinyModel.Write(m.Arch.Word(), checked((int)m.Seed), Path.Combine(ctx.OutputDirectory, Folder), shape, m.NumLatent);
        ctx.Environment.Log.WriteLine(
            $"[{ctx.Experiment}] model: generated a tiny {m.Arch.Word()} CODI model from seed {m.Seed} (model.safetensors {sha[..12]})");
    }

    /// <summary>
    /// The checkpoint (and tokenizer) folders of a <c>checkpoint</c> spec as external inputs; see <see cref="ModelInputs"/>.
    /// </summary>
    public static IReadOnlyList<ExternalInput> Resolve(ExperimentSpec spec, PipelineEnvironment env) => ModelInputs.Resolve(spec, env);

    /// <summary>The model folder a running stage should load.</summary>
    public static string FolderOf(StageContext ctx) =>
        ctx.Externals.TryGetValue("model", out var external) ? external.Path! : ctx.Input("model", Folder);
}
