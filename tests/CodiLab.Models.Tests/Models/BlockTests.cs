using CodiLab.Models;
using CodiLab.Models.Architectures;
using CodiLab.Models.Codi;
using CodiLab.Tests.Support;
using Xunit;
using static TorchSharp.torch;

namespace CodiLab.Tests.Models;

/// <summary>The decoder blocks as typed modules: hooks fire on them, capture is their output, interventions travel in the inputs.</summary>
public sealed class BlockTests
{
    [SharedTheory]
    [InlineData("tiny-gpt2", typeof(Gpt2Block))]
    [InlineData("tiny-llama", typeof(LlamaBlock))]
    public void Forward_hooks_on_blocks_and_attention_fire_once_per_layer_per_step(string fixture, Type blockType)
    {
        TorchRuntime.Initialize();
        var folder = TestPaths.Fixture(fixture);
        var question = TraceJson.Read(Path.Combine(folder, "reference.json"))[0].Question;
        using var model = CodiModel.Load(folder);
        var blocks = model.Loaded.Network.Lm.Blocks;
        Assert.Equal(model.Loaded.Network.Lm.Config.Layers, blocks.Count);
        Assert.All(blocks, (b, i) => { Assert.IsType(blockType, b); Assert.Equal(i, b.Index); });

        // Per layer, the new positions of each step the block saw, and how many times its attention ran.
        var steps = blocks.Select(_ => new List<long>()).ToArray();
        var attentionCalls = new int[blocks.Count];
        var removers = blocks.Select(b => b.register_forward_hook((module, input, output) =>
        {
            var layer = ((DecoderBlock)module).Index;
            Assert.Equal(input.Hidden.shape, output.Hidden.shape);
            steps[layer].Add(input.Hidden.shape[1]);
            return output;
        })).ToList();
        var attentionRemovers = blocks.Select(b => b.SelfAttention.register_forward_hook((_, input, output) =>
        {
            attentionCalls[input.Layer]++;
            return output;
        })).ToList();
        var trace = model.Trace(question, maxNewTokens: 3);
        removers.ForEach(r => r.remove());
        attentionRemovers.ForEach(r => r.remove());

        // One pass over the prompt, one per continuous thought, one per generated token.
        long[] expected = [trace.InputIds.Count, .. Enumerable.Repeat(1L, model.NumLatent + trace.AnswerIds.Count)];
        Assert.All(steps, seen => Assert.Equal(expected, seen));
        Assert.All(attentionCalls, n => Assert.Equal(expected.Length, n));

        // Removed hooks no longer fire.
        model.Trace(question, maxNewTokens: 1);
        Assert.All(steps, seen => Assert.Equal(expected.Length, seen.Count));
    }

    [SharedTheory]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-llama")]
    public void The_probabilities_a_block_returns_are_the_ones_the_trace_records(string fixture)
    {
        TorchRuntime.Initialize();
        var folder = TestPaths.Fixture(fixture);
        var question = TraceJson.Read(Path.Combine(folder, "reference.json"))[0].Question;
        using var model = CodiModel.Load(folder);
        var blocks = model.Loaded.Network.Lm.Blocks;
        // Each layer's returned probabilities [1, h, 1, T] of the second pass (the first continuous thought z1).
        var z1 = new float[blocks.Count][][];
        var calls = new int[blocks.Count];
        var removers = blocks.Select(b => b.register_forward_hook((module, _, output) =>
        {
            var layer = ((DecoderBlock)module).Index;
            if (calls[layer]++ == 1)
            {
                Assert.NotNull(output.Probabilities);
                var row = output.Probabilities!.to_type(ScalarType.Float32).cpu(); // [1, h, 1, T]; freed with the layer scope
                var (h, t) = ((int)row.shape[1], (int)row.shape[3]);
                var flat = row.data<float>().ToArray();
                z1[layer] = [.. Enumerable.Range(0, h).Select(hh => flat.AsSpan(hh * t, t).ToArray())];
            }
            return output;
        })).ToList();
        var trace = model.Trace(question, maxNewTokens: 1);
        removers.ForEach(r => r.remove());

        for (int l = 0; l < blocks.Count; l++)
        {
            Assert.Equal(trace.Attention["z1"][l].Length, z1[l].Length);
            for (int h = 0; h < z1[l].Length; h++)
            {
                Assert.Equal(trace.InputIds.Count + 1, z1[l][h].Length);
                Assert.Equal(trace.Attention["z1"][l][h], z1[l][h]);
                Assert.Equal(1.0, z1[l][h].Sum(p => (double)p), 1e-5);
            }
        }
    }

    [SharedFact]
    public void A_forward_pass_refuses_interventions_it_does_not_implement()
    {
        TorchRuntime.Initialize();
        using var model = CodiModel.Load(TestPaths.Fixture("tiny-llama"));
        var lm = model.Loaded.Network.Lm;
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        using var cache = new KvCache(lm.Config.Layers);
        var embeds = lm.Embed(tensor(new long[] { 1, 2, 3 }, [1, 3]));
        var error = Assert.Throws<NotSupportedException>(() => lm.call(new LmInput(embeds, cache, Interventions: [new Probe()])));
        Assert.Contains(nameof(Probe), error.Message, StringComparison.Ordinal);
        Assert.Equal(0, cache.Length); // refused before any layer ran

        // An empty list is the plain model.
        var plain = lm.call(new LmInput(embeds, cache, Interventions: []));
        Assert.Equal(new long[] { 1, 3, lm.Config.Hidden }, plain.Hidden.shape);
        Assert.Equal(3, cache.Length);
    }

    private sealed record Probe : Intervention;
}
