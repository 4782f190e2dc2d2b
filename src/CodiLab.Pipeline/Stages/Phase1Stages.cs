using CodiLab.Analysis;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;

namespace CodiLab.Pipeline.Stages;

/// <summary>
/// Phase 1 after extraction (seed scripts 3–5 and the labelled view): aggregate → analyze → figures → report.
/// Figures come after analyze because the hub/flow/skip charts draw its scores.
/// </summary>
public static class Phase1Stages
{
    /// <summary>The aggregate stage.</summary>
    public static Stage Aggregate() => Stage.Create("aggregate", "Phase1", 1, AggregateParameters.From, upstream: ["extract"],
        outputs: [Phase1Files.SeedAvg, Phase1Files.SeedStats, Phase1Files.LatentAvg, Phase1Files.LatentStats], execute: (ctx, p) =>
        {
            var info = Phase1Files.ReadMetadata(ctx.Input("extract", Phase1Files.Metadata));
            var top = p.TopHeads;
            // Both arrays are streamed: only their means and SDs are kept.
            var seedCells = info.Layers * info.Heads * Conventions.SeedSize * Conventions.SeedSize;
            var (mean, std) = SeedAnalysis.MeanStd(Npy.Blocks(ctx.Input("extract", Phase1Files.SeedRaw), info.Problems, seedCells),
                info.Problems, seedCells);
            Npy.Write(ctx.Output(Phase1Files.SeedAvg),
                [info.Layers, info.Heads, Conventions.SeedSize, Conventions.SeedSize], mean, half: true);
            var stats = SeedAnalysis.Stats(
                info.Model, info.Problems, info.Layers, info.Heads, mean, std, Math.Min(top, info.Layers * info.Heads));
            ArtifactJson.Write(ctx.Output(Phase1Files.SeedStats), stats);

            var latentCells = info.Layers * info.Heads * (info.Latents + 1) * (info.Latents + 3);
            var latent = LatentAnalysis.OfMoments(Npy.Blocks(ctx.Input("extract", Phase1Files.LatentRaw), info.Problems, latentCells),
                info.Problems, info.Layers, info.Heads, info.Latents, info.PromptTokens);
            Npy.Write(ctx.Output(Phase1Files.LatentAvg), [info.Layers, info.Heads, latent.Rows, latent.Columns], latent.Mean, half: false);
            ArtifactJson.Write(ctx.Output(Phase1Files.LatentStats), LatentReport.Stats(info.Model, latent, top));
        });

    /// <summary>The analyze stage.</summary>
    public static Stage Analyze() => Stage.Create("analyze", "Phase1", 4, AnalyzeParameters.From, upstream: ["extract", "aggregate"],
        outputs: [Phase1Files.SeedSummary, Phase1Files.LatentSummary, Phase1Files.Evidence, Phase1Files.CanonicalSummary,
            .. QuestionLensStages.AnalyzeOutputs],
        execute: (ctx, thresholds) =>
        {
            var info = Phase1Files.ReadMetadata(ctx.Input("extract", Phase1Files.Metadata));
            var rounded = Npy.Read(ctx.Input("aggregate", Phase1Files.SeedAvg)).Values;
            var scores = SeedAnalysis.Analyze(rounded, info.Layers * info.Heads);
            var seed = SeedAnalysis.Summary(
                info.Model, scores, thresholds.HubRatioThreshold, thresholds.SequentialThreshold, thresholds.SkipThreshold);
            ArtifactJson.Write(ctx.Output(Phase1Files.SeedSummary), seed);
            var analysis = Phase1Files.ReadLatent(ctx.Input("extract", Phase1Files.LatentRaw), info);
            var latent = LatentReport.Summary(info.Model, info.Failures, analysis);
            ArtifactJson.Write(ctx.Output(Phase1Files.LatentSummary), latent);
            var stats = Phase1Files.ReadSeedStats(ctx.Input("aggregate", Phase1Files.SeedStats));
            var latentStats = Phase1Files.ReadLatentStats(ctx.Input("aggregate", Phase1Files.LatentStats));
            var evidence = Phase1Evidence.Build(Npy.Read(ctx.Input("extract", Phase1Files.SeedRaw)).Values, info, analysis, seed, stats,
                latentStats.Consistency, thresholds.SequentialThreshold, thresholds.SkipThreshold) with
            {
                Sink = SinkAnalysis.Build(analysis, Phase1Files.ReadLatent(ctx.Input("extract", Phase1Files.LatentValueWeighted), info)),
            };
            ArtifactJson.Write(ctx.Output(Phase1Files.Evidence), evidence);
            var canonical = new Phase1Canonical(thresholds.Name, new CanonicalSeedPart(seed, stats),
                new CanonicalLatentPart(latent, latentStats.Consistency, latentStats.TopHeads));
            ArtifactJson.WriteCanonical(ctx.Output(Phase1Files.CanonicalSummary), canonical);
            QuestionLensStages.Analyze(ctx, info);
        });
}
