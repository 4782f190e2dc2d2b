using CodiLab.Models;
using CodiLab.Models.Codi;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Models;

/// <summary>The merged-weights cache: a mapped network traces exactly as a loaded one, and a bad entry is never used.</summary>
public sealed class MergedWeightsTests
{
    private const string Question = "Tom has 3 apples and buys 4 more. How many apples does he have?";

    [Theory]
    [InlineData("llama")]
    [InlineData("gpt2")]
    public void A_network_mapped_from_the_cache_traces_bit_for_bit_as_the_checkpoint_loaded(string arch)
    {
        TorchRuntime.Initialize();
        using var folder = new TempFolder();
        TinyModel.Write(arch, 42, folder.Path);
        var cache = Path.Combine(folder.Path, "merged");
        var cached = new CodiOptions(Load: new LoadOptions(MergedCache: cache, MergedCacheMinBytes: 0));

        var reference = Trace(CodiModel.Load(folder.Path));
        var first = Trace(CodiModel.Load(folder.Path, cached));   // loads the checkpoint and writes the entry
        using (var mapped = CodiModel.Load(folder.Path, cached))  // maps the entry
        {
            Assert.Contains(mapped.Loaded.Notes, n => n.Contains("merged-weights cache", StringComparison.Ordinal));
            Assert.Equal(reference, Trace(mapped, dispose: false));
        }
        Assert.Equal(reference, first);
        Assert.Equal(2, Directory.GetFiles(cache).Length); // the data and its index; no partial file left
    }

    [Fact]
    public void A_short_entry_or_another_checkpoint_is_not_used()
    {
        TorchRuntime.Initialize();
        using var folder = new TempFolder();
        TinyModel.Write("llama", 42, folder.Path);
        var cache = Path.Combine(folder.Path, "merged");
        var cached = new CodiOptions(Load: new LoadOptions(MergedCache: cache, MergedCacheMinBytes: 0));
        var reference = Trace(CodiModel.Load(folder.Path, cached));

        // A truncated data file (a copy gone wrong) is ignored: the checkpoint is loaded again and the entry rewritten.
        var data = Directory.GetFiles(cache, "*.f32").Single();
        using (var f = new FileStream(data, FileMode.Open)) f.SetLength(f.Length / 2);
        using (var reloaded = CodiModel.Load(folder.Path, cached))
        {
            Assert.DoesNotContain(reloaded.Loaded.Notes, n => n.Contains("merged-weights cache", StringComparison.Ordinal));
            Assert.Equal(reference, Trace(reloaded, dispose: false));
        }
        // Another checkpoint in the same folder (other weights) has another key, so the old entry is not used for it.
        TinyModel.Write("llama", 7, folder.Path);
        using var other = CodiModel.Load(folder.Path, cached);
        Assert.DoesNotContain(other.Loaded.Notes, n => n.Contains("merged-weights cache", StringComparison.Ordinal));
        Assert.NotEqual(reference, Trace(other, dispose: false));
    }

    [Fact]
    public void A_cache_that_cannot_be_written_leaves_the_load_as_it_was_with_a_note()
    {
        TorchRuntime.Initialize();
        using var folder = new TempFolder();
        TinyModel.Write("gpt2", 42, folder.Path);
        var cache = Path.Combine(folder.Path, "not-a-folder");
        File.WriteAllText(cache, "a file where the cache folder would be");

        using var model = CodiModel.Load(folder.Path, new CodiOptions(Load: new LoadOptions(MergedCache: cache, MergedCacheMinBytes: 0)));

        Assert.Contains(model.Loaded.Notes, n => n.StartsWith("the merged-weights cache was not written", StringComparison.Ordinal));
        Assert.Equal(Trace(CodiModel.Load(folder.Path)), Trace(model, dispose: false));
        Assert.Equal("a file where the cache folder would be", File.ReadAllText(cache));
    }

    // The attention rows, latent norms and answer of one trace, as text (exact float bits).
    private static string Trace(CodiModel model, bool dispose = true)
    {
        try
        {
            var t = model.Trace(Question, maxNewTokens: 3);
            static string Bits(IEnumerable<float> v) => string.Join(",", v.Select(BitConverter.SingleToInt32Bits));
            return string.Join("|", t.Attention.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                    .Select(kv => kv.Key + ":" + Bits(kv.Value.SelectMany(l => l.SelectMany(h => h)))))
                + "|" + Bits(t.LatentNorms) + "|" + string.Join(",", t.AnswerIds);
        }
        finally
        {
            if (dispose) model.Dispose();
        }
    }
}
