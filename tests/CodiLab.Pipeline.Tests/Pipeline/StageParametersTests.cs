using CodiLab.Pipeline.Stages;
using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Pipeline;

/// <summary>
/// A stage's key material is its typed parameters record in canonical text: it must say exactly what the spec says,
/// so a typed value can never drift from the field it was read from.
/// </summary>
public sealed class StageParametersTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string> Specs() => new()
    {
        "default:tiny-llama",
        "default:tiny-gpt2",
        "extends: default:tiny-llama\nname: variant\nseed: 4294967295\nmodel: { lora: { r: 16, alpha: 12.5 }, num_latent: 3, dtype: bfloat16 }\n"
            + "dataset: { sample: all, size: 40 }\nextraction: { batch_size: auto, matrix: latent, max_new_tokens: 7 }\n"
            + "analysis: { hub_ratio_threshold: 1.25, skip_threshold: 0.05, top_heads: 3 }\nphases: [Phase1, Phase2]\n",
        "name: ckpt\nmodel: { arch: llama, path: ~/codi/ckpt }\ndataset: { split: test }\n",
    };

    private ExperimentSpec Load(string reference) =>
        SpecLoader.Load(reference.StartsWith("default:", StringComparison.Ordinal) ? reference : _dir.Write($"spec-{reference.GetHashCode():x}.yaml", reference));

    [Theory]
    [MemberData(nameof(Specs))]
    public void Every_stage_parameter_is_the_canonical_text_of_its_spec_field(string reference)
    {
        var spec = Load(reference);
        foreach (var stage in StageCatalog.For(spec))
        {
            var fields = SpecCanonical.Fields(stage.Parameters(spec));
            Assert.NotEmpty(fields);
            foreach (var (path, text) in fields.Where(f => SpecSchema.Find(f.Key) is not null))
                Assert.True(spec.CanonicalOf(path) == text, $"{stage.Name}: {path} is '{text}' in the parameters but '{spec.CanonicalOf(path)}' in the spec");
        }
    }

    [Fact]
    public void The_report_declares_every_field_it_prints_and_where_each_came_from()
    {
        var spec = Load("default:tiny-llama");
        var report = StageCatalog.For(spec).Single(s => s.Name == "report");
        var fields = SpecCanonical.Fields(report.Parameters(spec));
        Assert.All(SpecSchema.Fields, f => Assert.Contains(f.Path, fields.Keys));
        Assert.Equal("default:tiny-llama", fields["spec"]);
        Assert.Matches("^[0-9a-f]{16}$", fields["spec.origins"]);
        // Moving a written field to another line changes the digest, so the report's "from" column reruns.
        var moved = SpecLoader.Load(_dir.Write("moved.yaml", "extends: default:tiny-llama\nname: tiny-llama\n\nseed: 42\n"));
        var same = SpecLoader.Load(_dir.Write("same.yaml", "extends: default:tiny-llama\nname: tiny-llama\nseed: 42\n"));
        Assert.NotEqual(SpecCanonical.Fields(report.Parameters(moved))["spec.origins"], SpecCanonical.Fields(report.Parameters(same))["spec.origins"]);
    }

    [Fact]
    public void Extract_declares_the_model_path_and_seed_it_writes_into_its_metadata()
    {
        var spec = Load("name: ckpt\nmodel: { arch: gpt2, path: /models/a }\n");
        var fields = SpecCanonical.Fields(ExtractStage.For(spec).Parameters(spec));
        Assert.Equal("/models/a", fields["model.path"]);
        Assert.Equal("42", fields["seed"]);
    }
}
