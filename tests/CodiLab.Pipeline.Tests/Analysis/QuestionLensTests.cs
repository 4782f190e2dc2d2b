using System.Text.Json.Nodes;
using CodiLab.Analysis;
using CodiLab.Models.Codi;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Stages;
using CodiLab.Reports;
using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>
/// The question-token and logit-lens artifacts end to end on a fixture model: the kind masses add up to the latent
/// view's P0 and question columns, the top keys are the row's strongest question keys, the decoded lens's first id is
/// the recorded top-1, and the report carries both sections and the figure.
/// </summary>
public sealed class QuestionLensTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private string View(string experiment, string file) => Path.Combine(_dir.Path, "artifacts", experiment, "Phase1", file);

    [Theory]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-llama")]
    public void Extraction_writes_question_tokens_and_the_decoded_lens_and_the_report_shows_them(string name)
    {
        var env = new PipelineEnvironment(Path.Combine(_dir.Path, "artifacts"), Path.Combine(_dir.Path, "data"), new StringWriter(), "test");
        var spec = SpecLoader.Load(_dir.Write("q.yaml", $"extends: default:{name}\nname: q-{name}\ndataset:\n  sample: 12\n"));
        StageCatalog.Runner(env).Run(spec, "Phase1");
        var info = Phase1Files.ReadMetadata(View(spec.Name, Phase1Files.Metadata));
        var (n, l, h, r) = (info.Problems, info.Layers, info.Heads, info.Latents + 1);
        var mass = Npy.Read(View(spec.Name, Phase1Files.QuestionKindMass));
        var latent = Npy.Read(View(spec.Name, Phase1Files.LatentRaw));
        var keys = Npy.Read(View(spec.Name, Phase1Files.QuestionTopKeys));
        var weights = Npy.Read(View(spec.Name, Phase1Files.QuestionTopWeights));
        Assert.Equal([n, l, h, r, 5], mass.Shape);
        Assert.Equal([n, l, h, r, QuestionTokens.TopK], keys.Shape);
        var tokens = Phase1Files.ReadQuestionTokens(View(spec.Name, Phase1Files.QuestionTokens));
        for (int p = 0; p < n; p++)
        {
            Assert.Equal(info.ProblemRecords[p].PromptTokens - 1, tokens[p].Ids.Count);
            Assert.Equal("P0", tokens[p].Kinds[0]);
            Assert.Equal("last", tokens[p].Kinds[^1]);
            for (int li = 0; li < l; li++)
                for (int hi = 0; hi < h; hi++)
                    for (int q = 0; q < r; q++)
                    {
                        var m = Enumerable.Range(0, 5).Select(c => mass.Values[mass.Index(p, li, hi, q, c)]).ToArray();
                        // Float32 sums of a row's entries in another order: equal to about 1e-5 (an absolute tolerance, not
                        // rounding to decimal places, which can split two values 1e-7 apart).
                        Assert.Equal(latent.Values[latent.Index(p, li, hi, q, 0)], m[0], tolerance: 1e-5);
                        Assert.Equal(latent.Values[latent.Index(p, li, hi, q, 1)], m[1] + m[2] + m[3] + m[4], tolerance: 1e-4);
                        // Top keys are question positions, best first, and the best one holds at least a 1/(Q−1) share.
                        var w = Enumerable.Range(0, QuestionTokens.TopK).Select(j => weights.Values[weights.Index(p, li, hi, q, j)])
                            .Where(float.IsFinite).ToArray();
                        Assert.Equal(w.OrderByDescending(x => x), w);
                        Assert.InRange(keys.Values[keys.Index(p, li, hi, q, 0)], 1, tokens[p].Ids.Count - 1);
                        Assert.True(w[0] >= (m[1] + m[2] + m[3] + m[4]) / (tokens[p].Ids.Count - 1) - 1e-6);
                    }
        }
        var lens = Phase1Files.ReadLensTopK(View(spec.Name, Phase1Files.LensTopK));
        Assert.Equal(CodiModel.LogitLensK, lens.K);
        for (int p = 0; p < n; p++)
        {
            Assert.Equal(info.ProblemRecords[p].LogitLensTop1, lens.Problems[p].Ids.Select(x => x[0]));
            Assert.Contains("<<", lens.Problems[p].Solution, StringComparison.Ordinal); // the synthetic data carries annotations
        }
        var summary = JsonNode.Parse(File.ReadAllText(View(spec.Name, Phase1Files.LogitLens)))!;
        Assert.Equal(n, summary["problems_with_annotations"]!.GetValue<int>());
        var report = File.ReadAllText(View(spec.Name, Phase1Report.Markdown));
        Assert.Contains("## Question tokens: which kinds BOT and each latent read", report, StringComparison.Ordinal);
        Assert.Contains("## Logit lens against the gold solution's intermediate results", report, StringComparison.Ordinal);
        Assert.Contains($"| {lens.Problems[0].Gsm8kId} |", report, StringComparison.Ordinal);
        Assert.Contains("| query | strongest key is |", report, StringComparison.Ordinal);
        PngAssert.PanelGrid(View(spec.Name, QuestionKindFigure.File), Phase1Files.ReadQuestionKinds(
            View(spec.Name, Phase1Files.QuestionKinds)).TokenShare.Count(kv => kv.Value > 0), 2);
    }
}
