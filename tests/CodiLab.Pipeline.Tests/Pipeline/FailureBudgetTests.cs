using CodiLab.Models;
using CodiLab.Models.Checkpoints;
using CodiLab.Models.Codi;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Stages;
using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Pipeline;

/// <summary>Nothing false is cached: failed or non-finite extractions end the stage unless the spec allows them.</summary>
public sealed class FailureBudgetTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private PipelineEnvironment Env() =>
        new(Path.Combine(_dir.Path, "artifacts"), Path.Combine(_dir.Path, "data"), TextWriter.Null, "test");

    // A generated GPT-2 CODI folder whose token embedding is all NaN: every attention row it produces is NaN.
    private string NaNModel()
    {
        TorchRuntime.Initialize();
        var folder = Path.Combine(_dir.Path, "nan-model");
        TinyModel.Write("gpt2", 3, folder);
        var path = Path.Combine(folder, "model.safetensors");
        var tensors = SafeTensors.Read(path).ToDictionary(kv => kv.Key, kv => kv.Value);
        const string embedding = "codi.base_model.model.transformer.wte.weight";
        using (var value = tensors[embedding].ToTensor())
        {
            value.fill_(float.NaN);
            tensors[embedding] = RawTensor.FromTensor(value);
        }
        SafeTensors.Write(path, tensors);
        return folder;
    }

    private ExperimentSpec Spec(string folder, string extra = "") => SpecLoader.Load(_dir.Write("nan.yaml",
        $"name: nan\nmodel:\n  arch: gpt2\n  path: {folder}\n  device: cpu\ndataset:\n  source: synthetic\n  size: 20\n  sample: 4\n"
        + $"extraction:\n  batch_size: 4\n{extra}"));

    [Fact]
    public void Non_finite_attention_fails_the_stage_and_commits_nothing()
    {
        var env = Env();
        var spec = Spec(NaNModel());

        var error = Assert.Throws<CodiLabException>(() => StageCatalog.Runner(env).Run(spec, stageName: "extract"));

        Assert.Equal(ExitCodes.BadInput, error.ExitCode);
        Assert.Contains("4 of 4 problems failed", error.What, StringComparison.Ordinal);
        Assert.Contains("non-finite attention", error.What, StringComparison.Ordinal);
        Assert.EndsWith("nan.yaml", error.Where!.Split(':')[0], StringComparison.Ordinal);
        Assert.NotEqual(StageState.Cached, StageCatalog.Runner(env).Plan(spec, stage: "extract").Single(p => p.Stage.Name == "extract").State);
        Assert.False(File.Exists(Path.Combine(env.ExperimentRoot("nan"), "Phase1", "attention_metadata.json")));
    }

    [Fact]
    public void A_budget_never_lets_a_run_with_no_computed_problem_through()
    {
        var env = Env();
        var spec = Spec(NaNModel(), "  max_failures: 1000\n");

        var error = Assert.Throws<CodiLabException>(() => StageCatalog.Runner(env).Run(spec, stageName: "extract"));

        Assert.Contains("none succeeded", error.What, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.0, 100, 0)]
    [InlineData(3.0, 100, 3)]
    [InlineData(0.05, 100, 5)]
    [InlineData(0.05, 10, 0)]
    [InlineData(1.0, 7473, 1)]
    public void Max_failures_is_a_count_from_1_and_a_fraction_below(double maxFailures, int problems, int allowed) =>
        Assert.Equal(allowed, ExtractionSection.Allowed(maxFailures, problems));
}
