using CodiLab.Models;
using CodiLab.Models.Codi;
using CodiLab.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace CodiLab.Tests.Models;

/// <summary>
/// The CODI loop against the Hugging Face reference (codi_reference.py) on the two tiny fixtures, from each
/// checkpoint format: input ids, logit-lens ids and answer ids exact; every attention row within 1e-4 absolute.
/// </summary>
public sealed class ParityTests(ITestOutputHelper output)
{
    /// <summary>Absolute tolerance on attention probabilities (docs/model-folder.md#trace-json).</summary>
    public const double AttentionTolerance = 1e-4;

    [SharedTheory]
    [InlineData("tiny-gpt2", "pytorch_model.bin")]
    [InlineData("tiny-gpt2", "model.safetensors")]
    [InlineData("tiny-llama", "pytorch_model.bin")]
    [InlineData("tiny-llama", "model.safetensors")]
    public void Every_reference_question_matches(string fixture, string checkpoint)
    {
        TorchRuntime.Initialize();
        var folder = TestPaths.Fixture(fixture);
        var references = TraceJson.Read(Path.Combine(folder, "reference.json"));
        using var model = CodiModel.Load(folder, new CodiOptions(Load: new LoadOptions(CheckpointFile: checkpoint)));

        var worst = 0.0;
        foreach (var reference in references)
        {
            var trace = model.Trace(reference.Question, maxNewTokens: reference.AnswerIds.Count);
            Assert.Equal(reference.InputIds, trace.InputIds);
            Assert.Equal(reference.LogitLensTop1, trace.LogitLensTop1);
            Assert.Equal(reference.AnswerIds, trace.AnswerIds);
            Assert.Equal(reference.AnswerText, trace.AnswerText);
            worst = Math.Max(worst, TraceComparison.WorstAttentionDifference(reference, trace));
            for (int i = 0; i < reference.LatentNorms.Count; i++)
                Assert.Equal(reference.LatentNorms[i], trace.LatentNorms[i], reference.LatentNorms[i] * 1e-4);
        }
        output.WriteLine($"{fixture} {checkpoint}: {references.Count} questions, worst attention difference {worst:E2}");
        Assert.InRange(worst, 0, AttentionTolerance);
    }
}
