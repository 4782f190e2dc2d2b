using CodiLab.Analysis;
using CodiLab.Models.Codi;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Extraction;
using CodiLab.Specs;

namespace CodiLab.Pipeline.Stages;

/// <summary>
/// Phase 1, stage 2 (seed script 2, done right): the CODI loop over every sampled problem (raw question text as
/// the seed fed it; BOS for LLaMA; BOT; z1..zK), capturing each query's attention row once and deriving both
/// conventions from it: <c>attention_patterns_raw.npy</c> [N, L, H, 6, 6] float16 (the seed's matrix, off-by-one
/// included), <c>latent_attention_raw.npy</c> [N, L, H, K+1, K+3] float32 (labelled latent view) and
/// <c>latent_value_weighted_raw.npy</c> (the same view weighted by value norms). The loop and
/// its resumable shards and the arrays it writes (<see cref="ExtractArrays"/>) are <see cref="ExtractionDriver"/>'s;
/// this adapter loads the model, checks the failures and writes the metadata.
/// </summary>
public static class ExtractStage
{
    /// <summary>The stage for a spec.</summary>
    public static Stage For(ExperimentSpec spec) => Stage.Create("extract", "Phase1", 3, ExtractParameters.From,
        upstream: spec.Model.IsGenerated ? ["sample", "model"] : ["sample"],
        outputs: Outputs,
        execute: (ctx, p) => Execute(ctx, p, "sample", Phase1Files.Dataset), externals: ModelStage.Resolve);

    /// <summary>What an extraction writes: every array, the decoded question and lens records, the metadata (Phase 1 and Phase 4 alike).</summary>
    public static IReadOnlyList<string> Outputs =>
        [.. ExtractArrays.Files, .. QuestionTraces.Files, .. QuestionLensStages.ExtractRecords, Phase1Files.Metadata];

    /// <summary>Loads the stage's model, showing that it is loading (a 1B model takes most of a minute on a CPU).</summary>
    public static CodiModel LoadModel(StageContext ctx, ExtractParameters p)
    {
        using var loading = ctx.Environment.Progress.Start($"[{ctx.Experiment}] extract: loading the model", 0, "");
        return ModelSetup.Load(
            ModelStage.FolderOf(ctx),
            ctx.Externals.TryGetValue("tokenizer", out var tok) ? tok.Path : null,
            p.Model,
            ctx.Where("model.dtype"),
            cacheRoot: ctx.Environment.CacheRoot);
    }

    /// <summary>
    /// Runs the extraction over the dataset JSON <paramref name="datasetFile"/> of stage <paramref name="sampleStage"/> and writes
    /// the arrays and the metadata (Phase 1 over its sample; Phase 4 over the full set).
    /// </summary>
    public static void Execute(StageContext ctx, ExtractParameters p, string sampleStage, string datasetFile)
    {
        var log = ctx.Environment.Log;
        var dataset = ctx.Input(sampleStage, datasetFile);
        var problems = ExtractionDriver.ReadDataset(dataset);
        using var model = LoadModel(ctx, p);
        var prompts = ExtractionDriver.Prompts(model, problems);
        ExtractionDriver.CheckPositions(model, prompts, p.MaxNewTokens, ctx.Where("extraction.max_new_tokens"));
        var batch = ModelSetup.BatchSize(p.BatchSize, model, prompts.Max(q => q.Ids.Count));
        if (p.BatchSize is BatchSize.Auto) log.WriteLine($"[{ctx.Experiment}] extract: batch_size auto -> {batch}");
        var driver = new ExtractionDriver(model, batch, p.MaxNewTokens, log, $"[{ctx.Experiment}]",
            [.. ExtractArrays.All, .. QuestionTraces.Arrays(model.Tokenizer)], progress: ctx.Environment.Progress);
        var result = driver.Run(problems, prompts, ctx.ScratchDirectory);
        CheckFailures(ctx, p, result.Problems);
        driver.WriteArrays(result, a => ctx.Output(a.FileName));
        QuestionLensStages.Extract(ctx, model, problems, prompts, dataset);
        var (layers, heads, k) = (driver.Shape.Layers, driver.Shape.Heads, driver.Shape.Latents);
        var name = p.Source == ModelSource.Generated
            ? $"generated-{p.Arch.Word()}-seed{p.Seed}"
            : Path.GetFileName(Path.TrimEndingDirectorySeparator(ModelStage.FolderOf(ctx)));
        ArtifactJson.Write(ctx.Output(Phase1Files.Metadata), Metadata(p, name, result.Problems, layers, heads, k, datasetFile));
    }

    // More failures than extraction.max_failures allows (or every problem failed) ends the stage before anything is
    // written, naming the first ones: a failed problem is never cached as a measured one.
    private static void CheckFailures(StageContext ctx, ExtractParameters p, IReadOnlyList<ProblemRecord> records)
    {
        var failed = records.Where(r => !r.Success).ToList();
        var allowed = ExtractionSection.Allowed(p.MaxFailures, records.Count);
        if (failed.Count == 0 || (failed.Count <= allowed && failed.Count < records.Count)) return;
        var first = string.Join("; ", failed.Take(3).Select(f => $"{f.Gsm8kId}: {f.Error}"));
        throw new CodiLabException(
            $"{failed.Count} of {records.Count} problems failed, more than extraction.max_failures allows ({allowed}"
            + (failed.Count == records.Count ? ", and none succeeded" : "") + $"); nothing was committed. First: {first}.",
            ctx.Where("extraction.max_failures"),
            "see the log for why (non-finite attention means NaN or infinite weights or a dtype overflow; a failed loop often means a "
            + "prompt longer than the model's positions); fix the model or the data, or raise extraction.max_failures if some failures "
            + "are expected. Finished shards are kept, so the rerun resumes.", ExitCodes.BadInput);
    }

    private static ExtractMetadata Metadata(
        ExtractParameters p, string name, IReadOnlyList<ProblemRecord> records, int layers, int heads, int k, string datasetFile)
    {
        var decode = p.MaxNewTokens;
        var accuracy = decode > 0 ? new Accuracy(records.Count(r => r.Answer?.Correct == true), records.Count) : null;
        return new ExtractMetadata(name, p.Source == ModelSource.Generated ? "generated" : p.Path, records.Count, layers, heads,
            [.. Enumerable.Range(0, Conventions.SeedSize)], datasetFile, records, k, decode, accuracy, p.DType.Word(),
            ModelSetup.Device(p.Device), Layouts(k));
    }

    private static ConventionLayouts Layouts(int k) => new(
        new SeedLayout(Phase1Files.SeedRaw, "[problem, layer, head, row, column], float16",
            Conventions.SeedRowsReally, Conventions.SeedColumnsReally,
            "M[s, j] = A(z_s -> z_{j+1}) for j < s; row 0, column 5, the diagonal and above are structural zeros"),
        new LatentLayout(Phase1Files.LatentRaw, "[problem, layer, head, query, key], float32; NaN = not visible",
            Conventions.LatentRows(k), Conventions.LatentColumns(k), "A(query -> key); 'question' sums P1..P(Q-1); each row sums to 1"));
}
