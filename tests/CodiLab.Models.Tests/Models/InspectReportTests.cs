using CodiLab.Models;
using CodiLab.Models.Checkpoints;
using CodiLab.Models.Codi;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Models;

/// <summary><see cref="InspectReport"/>'s totals come from the loader's classification of each key.</summary>
public sealed class InspectReportTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Consumed_and_unused_follow_the_key_roles()
    {
        TorchRuntime.Initialize();
        var folder = Path.Combine(_dir.Path, "tiny");
        TinyModel.Write("llama", 9, folder);
        var checkpoint = Path.Combine(folder, "model.safetensors");
        var tensors = new Dictionary<string, RawTensor>(SafeTensors.Read(checkpoint), StringComparer.Ordinal);
        var original = tensors.Count;
        // A rotary buffer older transformers versions saved (dropped) and a stored copy of the tied head (not used).
        tensors["codi.base_model.model.model.layers.0.self_attn.rotary_emb.inv_freq"] = new(StoredType.Float32, [8], new byte[32]);
        var embedding = tensors.Single(kv => kv.Key.EndsWith("embed_tokens.weight", StringComparison.Ordinal)).Value;
        tensors["codi.base_model.model.lm_head.weight"] = embedding;
        SafeTensors.Write(checkpoint, tensors);

        var report = InspectReport.Load(folder);

        Assert.Equal(original + 2, report.TotalKeys);
        Assert.Equal(original, report.Consumed);
        Assert.Equal(2, report.Unused);
        Assert.Contains((KeyRole.LegacyBuffer, 1), report.RoleCounts);
        Assert.Contains((KeyRole.TiedHead, 1), report.RoleCounts);
        Assert.Equal(report.TotalKeys, report.RoleCounts.Sum(r => r.Count));
        Assert.Contains("lm_head.weight equals the embedding (tied)", report.Notes);
        // Every network parameter is filled by exactly one directly copied key (LoRA merges into those weights).
        var copied = report.Keys.Where(k => k.Role is KeyRole.Parameter or KeyRole.TransposedParameter).ToList();
        Assert.Equal(copied.Count, report.ParametersFilled);
        Assert.Equal(copied.Sum(k => k.Shape.Aggregate(1L, (a, b) => a * b)), report.Values);
    }
}
