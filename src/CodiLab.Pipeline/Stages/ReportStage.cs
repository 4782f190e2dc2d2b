using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Engine;
using CodiLab.Reports;
using CodiLab.Specs;

namespace CodiLab.Pipeline.Stages;

/// <summary>Phase 1 report: gathers the run facts and typed artifacts, hands them to <see cref="Phase1Report"/>.</summary>
public static class ReportStage
{
    private static readonly string[] Inputs = ["sample", "extract", "aggregate", "analyze", "figures"];

    /// <summary>The stage for a spec.</summary>
    public static Stage For(ExperimentSpec spec) => Stage.Create("report", "Phase1", 3, ReportParameters.From,
        upstream: spec.Model.IsGenerated ? [.. Inputs, "model"] : Inputs, outputs: [Phase1Report.Markdown, Phase1Report.Html], execute: Run,
        externals: ModelStage.Resolve);

    private static void Run(StageContext ctx, ReportParameters p)
    {
        string In(string stage, string file) => ctx.Input(stage, file);
        var input = new Phase1ReportInput(
            Facts(ctx, p),
            Phase1Files.ReadMetadata(In("extract", Phase1Files.Metadata)),
            Phase1Files.ReadSeedSummary(In("analyze", Phase1Files.SeedSummary)),
            Phase1Files.ReadSeedStats(In("aggregate", Phase1Files.SeedStats)),
            Phase1Files.ReadLatentSummary(In("analyze", Phase1Files.LatentSummary)),
            Phase1Files.ReadLatentStats(In("aggregate", Phase1Files.LatentStats)),
            Phase1Files.ReadEvidence(In("analyze", Phase1Files.Evidence)));
        input = QuestionLensStages.Report(ctx, input);
        var markdown = Phase1Report.Render(input);
        File.WriteAllText(ctx.Output(Phase1Report.Markdown), markdown);
        File.WriteAllText(ctx.Output(Phase1Report.Html),
            Phase1Report.RenderHtml(markdown, p.Name, f => File.ReadAllBytes(In("figures", f))));
    }

    /// <summary>The seed's own experiments: a real checkpoint on 100 GSM8K train problems drawn with seed 42.</summary>
    public static bool IsSeedExperiment(ReportParameters s) =>
        !s.Model.IsGenerated && s.Dataset.Source.Word() == "gsm8k" && s.Dataset.Split.Word() == "train"
        && s.Dataset.Sample is SampleSize.Count { N: 100 }
        && s.Seed == 42;

    private static Phase1RunFacts Facts(StageContext ctx, ReportParameters s)
    {
        var (m, d) = (s.Model, s.Dataset);
        var checkpoint = m.IsGenerated
            ? $"generated from seed {s.Seed}; model.safetensors sha256 "
                + $"`{Hashing.File(ctx.Input("model", "model/model.safetensors")).Sha256}`"
            : $"`{m.Path}`; folder hash `{ctx.Externals["model"].Hash}`";
        var keys = ctx.UpstreamDirectories
            .OrderBy(kv => Array.IndexOf(Inputs, kv.Key))
            .Select(kv => (kv.Key, Path.GetFileName(kv.Value)))
            .ToList();
        return new Phase1RunFacts(
            s.Name,
            s.Description,
            s.Reference,
            s.Extraction.Matrix.Word(),
            $"{m.Arch.Word()}, {{shape}}, {m.DType.Word()} on {{device}}",
            checkpoint,
            $"{d.Source.Word()} {d.Split.Word()}, sample {d.Sample} with seed {s.Seed}",
            Hashing.File(ctx.Input("sample", Phase1Files.Dataset)).Sha256,
            s.Extraction.MaxNewTokens,
            s.Analysis,
            ctx.Environment.HarnessVersion,
            keys,
            s.Spec,
            m.Arch.Word(),
            IsSeedExperiment(s));
    }
}
