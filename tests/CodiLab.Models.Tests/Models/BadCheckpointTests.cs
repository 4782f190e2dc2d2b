using CodiLab.Models;
using CodiLab.Models.Checkpoints;
using CodiLab.Models.Codi;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Models;

/// <summary>Damaged or mismatched checkpoints fail with the file, the key and a fix; nothing is half-loaded.</summary>
public sealed class BadCheckpointTests
{
    private const string Lora = "codi.base_model.model.transformer.h.0.attn.c_attn.lora_A.default.weight";
    private const string Base = "codi.base_model.model.transformer.h.1.ln_2.weight";

    // A copy of tiny-gpt2 (config and tokenizer files) whose model.safetensors is the edited state dict.
    private static TempFolder CopyWith(Func<Dictionary<string, RawTensor>, Dictionary<string, RawTensor>>? edit)
    {
        var source = TestPaths.Fixture("tiny-gpt2");
        var folder = new TempFolder();
        foreach (var name in new[] { "config.json", "vocab.json", "merges.txt", "codi.json" })
            File.Copy(Path.Combine(source, name), Path.Combine(folder.Path, name));
        var tensors = new Dictionary<string, RawTensor>(SafeTensors.Read(Path.Combine(source, "model.safetensors")), StringComparer.Ordinal);
        if (edit is not null) SafeTensors.Write(Path.Combine(folder.Path, "model.safetensors"), edit(tensors));
        return folder;
    }

    private static ModelFormatException LoadFails(string folder, LoadOptions? options = null)
    {
        TorchRuntime.Initialize();
        var e = Assert.Throws<ModelFormatException>(() => CodiLoader.Load(folder, options).Network.Dispose());
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.False(string.IsNullOrWhiteSpace(e.Fix));
        return e;
    }

    [SharedFact]
    public void Truncated_safetensors_names_the_file_and_says_truncated()
    {
        using var folder = CopyWith(t => t);
        var path = Path.Combine(folder.Path, "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 1000)]);
        var e = LoadFails(folder.Path);
        Assert.Equal(path, e.Where);
        Assert.Contains("truncated", e.What, StringComparison.Ordinal);
    }

    [SharedFact]
    public void Truncated_pytorch_bin_is_reported()
    {
        using var folder = CopyWith(null);
        var path = Path.Combine(folder.Path, "pytorch_model.bin");
        var bytes = File.ReadAllBytes(Path.Combine(TestPaths.Fixture("tiny-gpt2"), "pytorch_model.bin"));
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = LoadFails(folder.Path);
        Assert.Equal(path, e.Where);
        Assert.Contains("zip", e.What, StringComparison.Ordinal);
    }

    [SharedFact]
    public void Missing_key_is_named()
    {
        using var folder = CopyWith(t => { t.Remove(Base); return t; });
        var e = LoadFails(folder.Path);
        Assert.Contains("lacks", e.What, StringComparison.Ordinal);
        Assert.Contains("transformer.h.1.ln_2.weight", e.What, StringComparison.Ordinal);
    }

    [SharedFact]
    public void Unexpected_key_is_named()
    {
        using var folder = CopyWith(t => { t["codi.base_model.model.transformer.h.2.ln_1.weight"] = t["codi.base_model.model.transformer.h.0.ln_1.weight"]; return t; });
        var e = LoadFails(folder.Path);
        Assert.Contains("transformer.h.2.ln_1.weight", e.What, StringComparison.Ordinal);
    }

    [SharedFact]
    public void Wrong_shape_is_named_with_both_shapes()
    {
        using var folder = CopyWith(t =>
        {
            var ln = t["codi.base_model.model.transformer.ln_f.weight"];
            t["codi.base_model.model.transformer.ln_f.weight"] = new RawTensor(ln.Type, [32], ln.Data[..(32 * RawTensor.SizeOf(ln.Type))]);
            return t;
        });
        var e = LoadFails(folder.Path);
        Assert.Contains("transformer.ln_f.weight", e.What, StringComparison.Ordinal);
        Assert.Contains("[32]", e.What, StringComparison.Ordinal);
        Assert.Contains("[64]", e.What, StringComparison.Ordinal);
    }

    [SharedFact]
    public void Integer_weights_are_rejected_by_key()
    {
        using var folder = CopyWith(t =>
        {
            var prj = t["prj.ln.bias"];
            t["prj.ln.bias"] = new RawTensor(StoredType.Int64, prj.Shape, new byte[prj.Count * 8]);
            return t;
        });
        var e = LoadFails(folder.Path);
        Assert.Contains("prj.ln.bias", e.What, StringComparison.Ordinal);
        Assert.Contains("Int64", e.What, StringComparison.Ordinal);
    }

    [SharedFact]
    public void Lora_rank_other_than_the_spec_says_is_explained()
    {
        using var folder = CopyWith(t => t);
        var e = LoadFails(folder.Path, new LoadOptions(LoraR: 64));
        Assert.Contains("rank 128", e.What, StringComparison.Ordinal);
        Assert.Contains("model.lora.r: 128", e.Fix, StringComparison.Ordinal);
    }

    [SharedFact]
    public void A_lone_lora_factor_is_named()
    {
        using var folder = CopyWith(t => { t.Remove(Lora.Replace("lora_A", "lora_B", StringComparison.Ordinal)); return t; });
        var e = LoadFails(folder.Path);
        Assert.Contains("transformer.h.0.attn.c_attn", e.What, StringComparison.Ordinal);
        Assert.Contains("lora_A", e.What, StringComparison.Ordinal);
    }

    [SharedFact]
    public void A_checkpoint_without_prj_cannot_make_thoughts()
    {
        using var folder = CopyWith(t => new Dictionary<string, RawTensor>(t.Where(kv => !kv.Key.StartsWith("prj.", StringComparison.Ordinal))));
        Assert.Contains("no prj.* keys", LoadFails(folder.Path).What, StringComparison.Ordinal);
    }

    [SharedFact]
    public void A_folder_without_checkpoint_or_config_says_what_to_put_there()
    {
        using var empty = new TempFolder();
        Assert.Contains("config.json", LoadFails(empty.Path).What, StringComparison.Ordinal);
        using var noCheckpoint = CopyWith(null);
        Assert.Contains("neither model.safetensors nor pytorch_model.bin", LoadFails(noCheckpoint.Path).What, StringComparison.Ordinal);
    }
}
