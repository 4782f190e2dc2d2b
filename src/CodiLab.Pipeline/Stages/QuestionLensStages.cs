using CodiLab.Analysis;
using CodiLab.Models.Codi;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Extraction;
using CodiLab.Reports;

namespace CodiLab.Pipeline.Stages;

/// <summary>
/// The question-token and logit-lens parts of the Phase 1 stages after extraction (docs/experiment.md#question-tokens-and-the-logit-lens):
/// analyze summarises them, figures draws the per-layer question-kind figure, report prints both sections. Kept here so
/// each stage adapter names them in one line.
/// </summary>
public static class QuestionLensStages
{
    /// <summary>Files the extract stage adds beside its arrays (<see cref="QuestionTraces.Files"/>).</summary>
    public static readonly string[] ExtractRecords = [Phase1Files.QuestionTokens, Phase1Files.LensTopK];

    /// <summary>
    /// Writes the extract stage's per-problem records after its arrays: each prompt's tokens and kinds, and the logit-lens
    /// ids (read back from their array) decoded with the model's tokenizer beside the gold solution read from <paramref name="dataset"/>.
    /// </summary>
    public static void Extract(
        StageContext ctx, CodiModel model, IReadOnlyList<SampledProblem> problems, IReadOnlyList<CodiModel.Prompt> prompts, string dataset)
    {
        var tokens = problems.Select((p, i) => QuestionTraces.Tokens(i, p.Gsm8kId, model.Tokenizer, prompts[i].Ids)).ToList();
        ArtifactJson.Write(ctx.Output(Phase1Files.QuestionTokens), tokens);
        var ids = Npy.Read(ctx.Output(Phase1Files.LensIds)).Values;
        var solutions = QuestionTraces.Solutions(dataset);
        ArtifactJson.Write(ctx.Output(Phase1Files.LensTopK), QuestionTraces.Lens(problems, ids, model.NumLatent, model.Tokenizer, solutions));
    }

    /// <summary>Files the analyze stage adds.</summary>
    public static readonly string[] AnalyzeOutputs = [Phase1Files.QuestionKinds, Phase1Files.LogitLens];

    /// <summary>Files the figures stage adds.</summary>
    public static readonly string[] FigureOutputs = [QuestionKindFigure.File];

    /// <summary>Summarises the extract stage's question-token masses and decoded logit lens into the analyze outputs.</summary>
    public static void Analyze(StageContext ctx, ExtractMetadata info)
    {
        var tokens = Phase1Files.ReadQuestionTokens(ctx.Input("extract", Phase1Files.QuestionTokens));
        var kinds = tokens.Select(t => (IReadOnlyList<TokenKind>)[.. t.Kinds.Select(TokenKinds.Parse)]).ToList();
        var queries = Conventions.LatentRows(info.Latents);
        // Both arrays are streamed: the mass is summed over heads, and only each row's strongest key is kept.
        var rows = info.Layers * info.Heads * queries.Length;
        var strongest = TopKeyKinds.Strongest(
            Npy.Blocks(ctx.Input("extract", Phase1Files.QuestionTopKeys), info.Problems, rows * QuestionTokens.TopK)(), info.Problems, rows,
            QuestionTokens.TopK);
        var mass = Npy.Blocks(ctx.Input("extract", Phase1Files.QuestionKindMass), info.Problems, rows * TokenKinds.All.Length);
        var summary = QuestionKindSummary.Build(mass(), info.Layers, info.Heads, queries, kinds) with
        {
            StrongestKey = TopKeyKinds.Build(strongest, info.Layers, info.Heads, queries, tokens),
        };
        ArtifactJson.Write(ctx.Output(Phase1Files.QuestionKinds), summary);
        var lens = LogitLensSummary.Build(Phase1Files.ReadLensTopK(ctx.Input("extract", Phase1Files.LensTopK)));
        ArtifactJson.Write(ctx.Output(Phase1Files.LogitLens), lens);
    }

    /// <summary>Draws the per-layer question-kind figure.</summary>
    public static void Figures(StageContext ctx, string name) =>
        File.WriteAllBytes(ctx.Output(QuestionKindFigure.File),
            QuestionKindFigure.Render(name, Phase1Files.ReadQuestionKinds(ctx.Input("analyze", Phase1Files.QuestionKinds))));

    /// <summary>The report input with the question-token and logit-lens artifacts added.</summary>
    public static Phase1ReportInput Report(StageContext ctx, Phase1ReportInput input) => input with
    {
        QuestionKinds = Phase1Files.ReadQuestionKinds(ctx.Input("analyze", Phase1Files.QuestionKinds)),
        LogitLens = Phase1Files.ReadLogitLens(ctx.Input("analyze", Phase1Files.LogitLens)),
        LensRecords = Phase1Files.ReadLensTopK(ctx.Input("extract", Phase1Files.LensTopK)),
    };
}
