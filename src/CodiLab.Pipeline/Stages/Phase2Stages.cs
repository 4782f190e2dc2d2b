using CodiLab.Analysis;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;
using CodiLab.Reports;
using CodiLab.Specs;

namespace CodiLab.Pipeline.Stages;

/// <summary>
/// Phase 2 (seed scripts 6–7): per-head metrics and critical heads on the seed convention, reproduced faithfully
/// (flow ≡ 1, composite ≤ 0.6) and flagged; labelled per-head metrics on the latent view; their figures and a report.
/// </summary>
public static class Phase2Stages
{
    /// <summary>Per-head metrics.</summary>
    public static Stage Heads() => Stage.Create("heads", "Phase2", 4, NameParameters.From, upstream: ["extract", "aggregate"],
        outputs: [.. Phase2Files.SeedCsv, Phase2Files.Findings, Phase2Files.LatentHeads, Phase2Files.Summary, Phase2Files.CanonicalSummary],
        execute: (ctx, p) =>
        {
            var info = Phase1Files.ReadMetadata(ctx.Input("extract", Phase1Files.Metadata));
            var seed = Phase2Files.SeedHeads(ctx.Input("aggregate", Phase1Files.SeedAvg), info);
            foreach (var (file, text) in HeadMetrics.SeedCsv(seed)) File.WriteAllText(ctx.Output(file), text);
            File.WriteAllText(ctx.Output(Phase2Files.Findings), HeadMetrics.Findings(info.Model, seed));
            var latent = Phase2Files.LatentHeadMetrics(ctx.Input("extract", Phase1Files.LatentRaw), info);
            File.WriteAllText(ctx.Output(Phase2Files.LatentHeads), HeadMetrics.LatentCsv(latent, info.Layers));
            var evidence = Phase2Evidence.Build(Npy.Read(ctx.Input("extract", Phase1Files.SeedRaw)).Values, info, seed, latent);
            var summary = Phase2Summaries.Build(info.Model, info.Layers, info.Heads, seed, latent, evidence);
            ArtifactJson.Write(ctx.Output(Phase2Files.Summary), summary);
            ArtifactJson.WriteCanonical(ctx.Output(Phase2Files.CanonicalSummary), new Phase2Canonical(p.Name, summary));
        });

    /// <summary>Critical-head figures for both views.</summary>
    public static Stage Figures() => Stage.Create("heads-figures", "Phase2", 3, NameParameters.From,
        upstream: ["extract", "aggregate", "heads"], outputs: Phase2Figures.Files, execute: (ctx, p) =>
        {
            var info = Phase1Files.ReadMetadata(ctx.Input("extract", Phase1Files.Metadata));
            var input = new Phase2FigureInput(
                p.Name,
                info,
                Npy.Read(ctx.Input("aggregate", Phase1Files.SeedAvg)).Values,
                Phase2Files.SeedHeads(ctx.Input("aggregate", Phase1Files.SeedAvg), info),
                Npy.Read(ctx.Input("aggregate", Phase1Files.LatentAvg)).Values,
                Phase2Files.ReadLatentHeads(ctx.Input("heads", Phase2Files.LatentHeads)),
                Phase2Files.ReadSummary(ctx.Input("heads", Phase2Files.Summary)).Evidence);
            foreach (var (file, png) in Phase2Figures.Render(input)) File.WriteAllBytes(ctx.Output(file), png);
        });

    /// <summary>The Phase 2 report.</summary>
    public static Stage ReportStage() => Stage.Create("heads-report", "Phase2", 2, ReportParameters.From,
        upstream: ["heads", "heads-figures"], outputs: [Phase2Report.Markdown], execute: (ctx, p) =>
        {
            var summary = Phase2Files.ReadSummary(ctx.Input("heads", Phase2Files.Summary));
            var heads = Path.GetFileName(ctx.UpstreamDirectories["heads"]);
            var figures = Path.GetFileName(ctx.UpstreamDirectories["heads-figures"]);
            var markdown = Phase2Report.Render(
                p.Name, summary, heads, figures, p.Model.Arch.Word(), Stages.ReportStage.IsSeedExperiment(p));
            File.WriteAllText(ctx.Output(Phase2Report.Markdown), markdown);
        });
}
