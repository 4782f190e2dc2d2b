using CodiLab.Specs;
using CodiLab.Tests.Support;
using Snapshooter.Xunit;
using Xunit;

namespace CodiLab.Tests.Specs;

public sealed class SpecLoaderTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Experiment(string file) => Path.Combine(TestPaths.Repo, "experiments", file);

    [Fact]
    public void Seed_specs_differ_in_model_only()
    {
        var llama = SpecLoader.Load(Experiment("llama-gsm8k.yaml"));
        var gpt2 = SpecLoader.Load(Experiment("gpt2-gsm8k.yaml"));

        var gpt2Fields = gpt2.Resolved().ToDictionary(f => f.Path, f => f.Value);
        var differing = llama.Resolved().Where(f => f.Value != gpt2Fields[f.Path]).Select(f => f.Path).ToList();

        Assert.Equal(["description", "model.arch", "model.path", "name"], differing.Order(StringComparer.Ordinal));
        Assert.Equal("gpt2-gsm8k", gpt2.Name);
        Assert.Equal(new SampleSize.Count(100), gpt2.Dataset.Sample);
    }

    [Fact]
    public void Seed_spec_resolves_to_the_pinned_fields()
    {
        var spec = SpecLoader.Load(Experiment("llama-gsm8k.yaml"));

        new SortedDictionary<string, string>(spec.Resolved().ToDictionary(f => f.Path, f => f.Value), StringComparer.Ordinal).MatchSnapshot();
    }

    [Fact]
    public void Embedded_defaults_load_and_differ_in_model_only()
    {
        var specs = SpecLoader.LoadAll(SpecLoader.DefaultSpecs);

        Assert.Equal(["tiny-llama", "tiny-gpt2"], specs.Select(s => s.Name));
        Assert.Equal([Arch.Llama, Arch.Gpt2], specs.Select(s => s.Model.Arch));
        Assert.All(specs, s => Assert.Equal(DatasetSource.Synthetic, s.Dataset.Source));
    }

    [Fact]
    public void Defaults_fill_every_unwritten_field()
    {
        var path = _dir.Write("min.yaml", "model:\n  arch: gpt2\n  path: ckpt\n");

        var spec = SpecLoader.Load(path);

        Assert.Equal("min", spec.Name);
        Assert.Equal(42L, spec.Seed);
        Assert.Equal(new LoraSection(128, 32.0), spec.Model.Lora);
        Assert.Equal("gsm8k/train.jsonl", spec.Dataset.Path);
        Assert.Null(spec.Dataset.FullPath);
        Assert.Equal(SpecSchema.OfficialGsm8kSha256["train"], spec.Dataset.Sha256);
        Assert.Equal([Phase.Phase1], spec.Phases);
        Assert.Equal(new BatchSize.Fixed(16), spec.Extraction.BatchSize);
        Assert.Equal((Matrix.Seed, DeviceChoice.Auto, ComputeDType.Float32), (spec.Extraction.Matrix, spec.Model.Device, spec.Model.DType));
        Assert.False(spec.IsWritten("seed"));
    }

    [Fact]
    public void Sample_all_is_accepted_as_a_word()
    {
        var path = _dir.Write("all.yaml", "model:\n  arch: gpt2\n  path: ckpt\ndataset:\n  sample: all\n");

        var spec = SpecLoader.Load(path);

        Assert.IsType<SampleSize.All>(spec.Dataset.Sample);
        Assert.Null(spec.Dataset.Sample.OrNull);
        Assert.Equal("all", spec.Dataset.Sample.ToString());
    }

    [Fact]
    public void Tilde_expands_to_home_and_relative_paths_follow_the_spec_file()
    {
        var path = _dir.Write("sub/paths.yaml", "model:\n  arch: llama\n  path: ~/codi_ckpt/llama_gsm8k\n  tokenizer: tok\n");

        var spec = SpecLoader.Load(path);

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Assert.Equal(Path.Combine(home, "codi_ckpt/llama_gsm8k"), spec.Model.FullPath);
        Assert.Equal(Path.Combine(_dir.Path, "sub", "tok"), spec.Model.TokenizerPath);
    }

    [Fact]
    public void Derived_spec_overrides_nested_fields_and_keeps_the_rest()
    {
        _dir.Write("base.yaml", "name: base\nseed: 7\nmodel:\n  arch: llama\n  path: a\n  lora: { r: 64, alpha: 16 }\n");
        var child = _dir.Write("child.yaml", "extends: base.yaml\nmodel:\n  lora: { r: 8 }\n");

        var spec = SpecLoader.Load(child);

        Assert.Equal("child", spec.Name);
        Assert.Equal(7L, spec.Seed);
        Assert.Equal(new LoraSection(8, 16.0), spec.Model.Lora);
        Assert.EndsWith("child.yaml", spec.MarkOf("model.lora.r").File, StringComparison.Ordinal);
        Assert.EndsWith("base.yaml", spec.MarkOf("seed").File, StringComparison.Ordinal);
    }
}
