using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;
using CodiLab.Reports;

namespace CodiLab.Pipeline.Stages;

/// <summary>Phase 1 figures: reads the typed artifacts, hands them to <see cref="Phase1Figures"/>, writes the PNGs.</summary>
public static class FiguresStage
{
    /// <summary>The stage.</summary>
    public static Stage Definition() => Stage.Create("figures", "Phase1", 3, FiguresParameters.From,
        upstream: ["extract", "aggregate", "analyze"], outputs: [.. Phase1Figures.Files, .. QuestionLensStages.FigureOutputs], execute: Run);

    private static void Run(StageContext ctx, FiguresParameters p)
    {
        string In(string stage, string file) => ctx.Input(stage, file);
        var input = new Phase1FigureInput(
            p.Name,
            Phase1Files.ReadMetadata(In("extract", Phase1Files.Metadata)),
            Npy.Read(In("aggregate", Phase1Files.SeedAvg)).Values,
            Phase1Files.ReadSeedStats(In("aggregate", Phase1Files.SeedStats)),
            Phase1Files.ReadSeedSummary(In("analyze", Phase1Files.SeedSummary)),
            Npy.Read(In("aggregate", Phase1Files.LatentAvg)).Values,
            Phase1Files.ReadLatentStats(In("aggregate", Phase1Files.LatentStats)),
            Phase1Files.ReadLatentSummary(In("analyze", Phase1Files.LatentSummary)),
            p.SequentialThreshold,
            p.SkipThreshold,
            Phase1Files.ReadEvidence(In("analyze", Phase1Files.Evidence)));
        foreach (var (file, png) in Phase1Figures.Render(input)) File.WriteAllBytes(ctx.Output(file), png);
        QuestionLensStages.Figures(ctx, p.Name);
    }
}
