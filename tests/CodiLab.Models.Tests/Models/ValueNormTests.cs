using CodiLab.Models;
using CodiLab.Models.Architectures;
using CodiLab.Models.Codi;
using CodiLab.Tests.Support;
using Xunit;
using static TorchSharp.torch;

namespace CodiLab.Tests.Models;

/// <summary>‖W_O^h v_p‖ captured with a trace, checked against a direct computation from a single full forward pass.</summary>
public sealed class ValueNormTests
{
    [SharedTheory]
    [InlineData("tiny-llama")]
    [InlineData("tiny-gpt2")]
    public void Value_norms_equal_each_heads_output_map_applied_to_its_groups_value(string fixture)
    {
        TorchRuntime.Initialize();
        using var model = CodiModel.Load(TestPaths.Fixture(fixture));
        var question = Questions(fixture)[0];
        var plain = model.TraceIds(question, model.PromptIdsAsGiven(question), 0);
        Assert.Null(plain.ValueNorms); // off by default: parity traces are unchanged
        model.CaptureValueNorms = true;
        var trace = model.TraceIds(question, model.PromptIdsAsGiven(question), 0);
        var expected = Direct(model, trace);
        var c = model.Loaded.Config;
        Assert.Equal(c.Layers, trace.ValueNorms!.Length);
        for (int l = 0; l < c.Layers; l++)
            for (int h = 0; h < c.Heads; h++)
            {
                var got = trace.ValueNorms[l][h];
                Assert.Equal(trace.InputIds.Count + model.NumLatent, got.Length);
                for (int p = 0; p < got.Length; p++)
                    Assert.True(Math.Abs(got[p] - expected[l][h][p]) <= 1e-4 * (1 + expected[l][h][p]),
                        $"L{l}H{h} key {p}: {got[p]} vs {expected[l][h][p]}");
            }
        // The attention itself is unchanged by the capture.
        Assert.Equal(plain.Attention["z3"][1][1], trace.Attention["z3"][1][1]);
    }

    [SharedTheory]
    [InlineData("tiny-llama")]
    [InlineData("tiny-gpt2")]
    public void Batched_value_norms_equal_batch_one_runs(string fixture)
    {
        TorchRuntime.Initialize();
        using var model = CodiModel.Load(TestPaths.Fixture(fixture));
        model.CaptureValueNorms = true;
        var prompts = Questions(fixture).Take(3).Select(q => new CodiModel.Prompt(q, model.PromptIdsAsGiven(q))).ToList();
        Assert.True(prompts.Select(p => p.Ids.Count).Distinct().Count() > 1, "the batch must need padding");
        var batched = model.TraceBatch(prompts, 0);
        for (int i = 0; i < prompts.Count; i++)
        {
            var single = model.TraceBatch([prompts[i]], 0)[0];
            var (a, b) = (batched[i].ValueNorms!, single.ValueNorms!);
            for (int l = 0; l < a.Length; l++)
                for (int h = 0; h < a[l].Length; h++)
                {
                    Assert.Equal(b[l][h].Length, a[l][h].Length);
                    for (int p = 0; p < a[l][h].Length; p++) Assert.True(Math.Abs(a[l][h][p] - b[l][h][p]) <= 1e-4 * (1 + b[l][h][p]));
                }
        }
    }

    // One causal pass over [E(prompt ids), z1..zN] (the thoughts as fed) into a fresh cache, then, per layer, head h's
    // columns of the output projection applied to the value of KV group h / (H / KV), norm in double precision.
    private static float[][][] Direct(CodiModel model, TraceResult trace)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var (lm, c) = (model.Loaded.Network.Lm, model.Loaded.Config);
        using var ids = tensor(trace.InputIds.Select(i => (long)i).ToArray(), [1, trace.InputIds.Count]);
        var latents = trace.Latents!.Select(z => tensor(z, [1, 1, z.Length])).ToList();
        using var cache = new KvCache(c.Layers);
        lm.call(new LmInput(cat([lm.Embed(ids), .. latents], 1), cache));
        var name = c.Arch == "gpt2" ? "attn.c_proj.weight" : "self_attn.o_proj.weight";
        var weights = model.Loaded.Network.named_parameters().Where(p => p.name.EndsWith(name, StringComparison.Ordinal))
            .Select(p => p.parameter).ToList();
        var result = new float[c.Layers][][];
        for (int l = 0; l < c.Layers; l++)
        {
            var w = weights[l].data<float>().ToArray(); // [d, H·hd], row-major
            var values = cache[l].Values!; // [1, KV, T, hd]
            var (t, width) = ((int)values.shape[2], c.Heads * c.HeadDim);
            var v = values.contiguous().data<float>().ToArray();
            result[l] = new float[c.Heads][];
            for (int h = 0; h < c.Heads; h++)
            {
                var g = h / (c.Heads / c.KvHeads);
                result[l][h] = new float[t];
                for (int p = 0; p < t; p++)
                {
                    double sq = 0;
                    for (int o = 0; o < c.Hidden; o++)
                    {
                        double y = 0;
                        for (int j = 0; j < c.HeadDim; j++) y += w[o * width + h * c.HeadDim + j] * (double)v[(g * t + p) * c.HeadDim + j];
                        sq += y * y;
                    }
                    result[l][h][p] = (float)Math.Sqrt(sq);
                }
            }
        }
        return result;
    }

    private static string[] Questions(string fixture) =>
        [.. TraceJson.Read(Path.Combine(TestPaths.Fixture(fixture), "reference.json")).Select(t => t.Question)];
}
