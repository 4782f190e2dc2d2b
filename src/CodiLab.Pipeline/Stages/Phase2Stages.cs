using System.Text.Json.Nodes;
using CodiLab.Analysis;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;
using CodiLab.Reports;

namespace CodiLab.Pipeline.Stages;

/// <summary>
/// Phase 2 (seed scripts 6–7): per-head metrics and critical heads on the seed convention, reproduced faithfully
/// (flow ≡ 1, composite ≤ 0.6) and flagged; labelled per-head metrics on the latent view; their figures and a report.
/// </summary>
public static class Phase2Stages
{
    /// <summary>Per-head metrics.</summary>
    public static Stage Heads() => new(
        Name: "heads", Phase: "Phase2", Version: 1,
        Reads: ["name"], // in the canonical summary
        Upstream: ["extract", "aggregate"],
        Outputs: [.. Phase2Files.SeedCsv, Phase2Files.Findings, Phase2Files.LatentHeads, Phase2Files.Summary, Phase2Files.CanonicalSummary],
        Externals: (_, _) => [],
        Execute: ctx =>
        {
            var info = Phase1Files.ReadMetadata(ctx.Input("extract", Phase1Files.Metadata));
            var seed = Phase2Files.SeedHeads(ctx.Input("aggregate", Phase1Files.SeedAvg), info);
            foreach (var (file, text) in HeadMetrics.SeedCsv(seed)) File.WriteAllText(ctx.Output(file), text);
            File.WriteAllText(ctx.Output(Phase2Files.Findings), HeadMetrics.Findings(info.Model, seed));
            var latent = Phase2Files.LatentHeadMetrics(ctx.Input("extract", Phase1Files.LatentRaw), info);
            File.WriteAllText(ctx.Output(Phase2Files.LatentHeads), HeadMetrics.LatentCsv(latent, info.Layers));
            var summary = Phase2Summaries.Build(info.Model, info.Layers, info.Heads, seed, latent);
            ArtifactJson.Write(ctx.Output(Phase2Files.Summary), summary);
            var canonical = new JsonObject { ["experiment"] = ctx.Spec.Name, ["phase2"] = ArtifactJson.Node(summary) };
            File.WriteAllText(ctx.Output(Phase2Files.CanonicalSummary), CanonicalJson.Text(canonical));
        });

    /// <summary>Critical-head figures for both views.</summary>
    public static Stage Figures() => new(
        Name: "heads-figures", Phase: "Phase2", Version: 1,
        Reads: ["name"], // in every title
        Upstream: ["extract", "aggregate", "heads"],
        Outputs: Phase2Figures.Files,
        Externals: (_, _) => [],
        Execute: ctx =>
        {
            var info = Phase1Files.ReadMetadata(ctx.Input("extract", Phase1Files.Metadata));
            var input = new Phase2FigureInput(ctx.Spec.Name, info, Npy.Read(ctx.Input("aggregate", Phase1Files.SeedAvg)).Values,
                Phase2Files.SeedHeads(ctx.Input("aggregate", Phase1Files.SeedAvg), info), Npy.Read(ctx.Input("aggregate", Phase1Files.LatentAvg)).Values,
                Phase2Files.LatentHeadMetrics(ctx.Input("extract", Phase1Files.LatentRaw), info));
            foreach (var (file, png) in Phase2Figures.Render(input)) File.WriteAllBytes(ctx.Output(file), png);
        });

    /// <summary>The Phase 2 report.</summary>
    public static Stage ReportStage() => new(
        Name: "heads-report", Phase: "Phase2", Version: 1,
        Reads: ["name"],
        Upstream: ["heads", "heads-figures"],
        Outputs: [Phase2Report.Markdown],
        Externals: (_, _) => [],
        Execute: ctx =>
        {
            var summary = Phase2Files.ReadSummary(ctx.Input("heads", Phase2Files.Summary));
            var (heads, figures) = (Path.GetFileName(ctx.UpstreamDirectories["heads"]), Path.GetFileName(ctx.UpstreamDirectories["heads-figures"]));
            File.WriteAllText(ctx.Output(Phase2Report.Markdown), Phase2Report.Render(ctx.Spec.Name, summary, heads, figures));
        });
}
