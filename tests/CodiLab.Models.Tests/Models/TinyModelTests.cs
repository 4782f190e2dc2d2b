using CodiLab.Models;
using CodiLab.Models.Codi;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Models;

/// <summary>The generated tiny models: deterministic, in the official layout, loadable, with an offline tokenizer.</summary>
public sealed class TinyModelTests
{
    [Theory]
    [InlineData("llama")]
    [InlineData("gpt2")]
    public void Same_seed_same_bytes_other_seed_other_bytes(string arch)
    {
        TorchRuntime.Initialize();
        using var a = new TempFolder();
        using var b = new TempFolder();
        using var c = new TempFolder();
        var first = TinyModel.Write(arch, 42, a.Path);
        Assert.Equal(first, TinyModel.Write(arch, 42, b.Path));
        Assert.NotEqual(first, TinyModel.Write(arch, 43, c.Path));
        foreach (var file in Directory.EnumerateFiles(a.Path, "*", SearchOption.AllDirectories))
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(Path.Combine(b.Path, Path.GetRelativePath(a.Path, file))));
    }

    [Theory]
    [InlineData("llama", "original/tokenizer.model", 768)]
    [InlineData("gpt2", "merges.txt", 513)]
    public void The_folder_loads_through_the_official_layout_and_traces(string arch, string tokenizerFile, int vocab)
    {
        TorchRuntime.Initialize();
        using var folder = new TempFolder();
        TinyModel.Write(arch, 42, folder.Path);
        Assert.True(File.Exists(Path.Combine(folder.Path, tokenizerFile)));

        var raw = CodiLoader.ReadTensors(Path.Combine(folder.Path, "model.safetensors"));
        Assert.All(raw.Keys, k => Assert.True(k.StartsWith("codi.base_model.model.", StringComparison.Ordinal) || k.StartsWith("prj.", StringComparison.Ordinal), k));
        Assert.Contains(raw.Keys, k => k.EndsWith(".lora_A.default.weight", StringComparison.Ordinal));

        using var model = CodiModel.Load(folder.Path);
        Assert.Equal(vocab, model.Loaded.Config.VocabSize);
        Assert.Equal(raw.Count, model.Loaded.Keys.Count);
        const string question = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did she sell altogether?";
        var ids = model.Tokenizer.Encode(question);
        Assert.Equal(question, model.Tokenizer.Decode(ids, vocab));
        Assert.Equal(arch == "llama" ? vocab - 256 : null, model.Tokenizer.Bos);

        var trace = model.Trace(question, maxNewTokens: 5);
        Assert.Equal(7, trace.LogitLensTop1.Count);
        Assert.Equal(["bot", "z1", "z2", "z3", "z4", "z5", "z6"], trace.Attention.Keys);
        var row = trace.Attention["z6"][0][0];
        Assert.Equal(ids.Count + 1 + 6, row.Length);
        Assert.Equal(1.0, row.Sum(x => (double)x), 1e-5);
    }
}
