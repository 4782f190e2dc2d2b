using CodiLab.Models;
using CodiLab.Models.Architectures;
using CodiLab.Models.Codi;
using CodiLab.Models.Tokenizers;
using CodiLab.Tests.Support;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace CodiLab.Tests.Models;

/// <summary>Loader inventory, RoPE, KV cache, leaks, dtypes and tokenizers of the CODI runtime.</summary>
public sealed class RuntimeTests(ITestOutputHelper output)
{
    [SharedTheory]
    [InlineData("tiny-gpt2", "pytorch_model.bin", 51, 8, 16, 1)]
    [InlineData("tiny-gpt2", "model.safetensors", 50, 8, 16, 0)]
    [InlineData("tiny-llama", "pytorch_model.bin", 55, 0, 28, 1)]
    [InlineData("tiny-llama", "model.safetensors", 54, 0, 28, 0)]
    public void Every_checkpoint_key_is_consumed_and_every_parameter_filled(string fixture, string file, int keys, int transposed, int lora, int tiedHead)
    {
        TorchRuntime.Initialize();
        var folder = TestPaths.Fixture(fixture);
        var raw = CodiLoader.ReadTensors(Path.Combine(folder, file));
        var loaded = CodiLoader.Load(folder, new LoadOptions(CheckpointFile: file));
        using var network = loaded.Network;

        Assert.Equal(keys, raw.Count);
        Assert.Equal(raw.Keys.Order(StringComparer.Ordinal), loaded.Keys.Select(k => k.Key).Order(StringComparer.Ordinal));
        Assert.Equal(transposed, loaded.Keys.Count(k => k.Role == KeyRole.TransposedParameter));
        Assert.Equal(lora, loaded.Keys.Count(k => k.Role == KeyRole.LoraFactor));
        Assert.Equal(tiedHead, loaded.Keys.Count(k => k.Role == KeyRole.TiedHead));
        // Every network parameter comes from exactly one non-LoRA key; LoRA targets exist among them.
        var parameters = network.named_parameters().Select(p => p.name).ToHashSet();
        var filled = loaded.Keys.Where(k => k.Role is KeyRole.Parameter or KeyRole.TransposedParameter).Select(k => k.Target).ToList();
        Assert.Equal(parameters.Order(), filled.Order());
        Assert.All(loaded.Keys.Where(k => k.Role == KeyRole.LoraFactor), k => Assert.Contains(k.Target, parameters));
    }

    [SharedFact]
    public void Both_checkpoint_formats_give_identical_weights()
    {
        TorchRuntime.Initialize();
        foreach (var fixture in new[] { "tiny-gpt2", "tiny-llama" })
        {
            var folder = TestPaths.Fixture(fixture);
            using var a = CodiLoader.Load(folder, new LoadOptions(CheckpointFile: "pytorch_model.bin")).Network;
            using var b = CodiLoader.Load(folder, new LoadOptions(CheckpointFile: "model.safetensors")).Network;
            var other = b.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in a.named_parameters())
                Assert.True(p.allclose(other[name], 0, 0), $"{fixture}: {name} differs between the two files");
        }
    }

    [Fact]
    public void Llama3_rope_frequencies_follow_the_formula()
    {
        // Llama-3.2-1B: theta 500000, head_dim 64, factor 32, low 1, high 4, original 8192.
        var config = new ModelConfig("llama", 128256, 2048, 16, 32, 8, 64, 8192, 131072, 1e-5, 500000, new RopeScaling(32, 1, 4, 8192));
        var actual = config.RopeInverseFrequencies();
        Assert.Equal(32, actual.Length);
        const double lowWavelen = 8192 / 1.0, highWavelen = 8192 / 4.0;
        var scaled = 0;
        for (int i = 0; i < 32; i++)
        {
            var f = Math.Pow(500000, -2.0 * i / 64);
            var wavelen = 2 * Math.PI / f;
            double expected;
            if (wavelen < highWavelen) expected = f;                       // high frequencies kept
            else if (wavelen > lowWavelen) { expected = f / 32; scaled++; } // low frequencies divided by the factor
            else
            {
                var smooth = (8192 / wavelen - 1) / (4 - 1);               // blended in between
                expected = (1 - smooth) * f / 32 + smooth * f;
            }
            Assert.Equal(expected, actual[i], expected * 1e-6);
        }
        Assert.InRange(scaled, 1, 31); // the rule divides some but not all
        Assert.Equal(1.0, actual[0], 1e-12);

        using var lm = new LlamaLm(config with { Layers = 1, VocabSize = 8, Hidden = 64, Heads = 1, KvHeads = 1, Intermediate = 8 });
        Assert.Equal(actual.Select(f => (float)f), lm.InverseFrequencies);
    }

    [SharedTheory]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-llama")]
    public void Kv_cache_steps_equal_one_full_forward_over_the_concatenated_embeddings(string fixture)
    {
        TorchRuntime.Initialize();
        var folder = TestPaths.Fixture(fixture);
        var question = TraceJson.Read(Path.Combine(folder, "reference.json"))[0].Question;
        using var model = CodiModel.Load(folder);
        var trace = model.Trace(question, maxNewTokens: 1);

        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var lm = model.Loaded.Network.Lm;
        var ids = tensor(trace.InputIds.Select(i => (long)i).ToArray(), [1, trace.InputIds.Count]);
        var latents = stack(trace.Latents!.Select(z => tensor(z)).ToArray()).unsqueeze(0); // [1, 6, d]
        var embeds = cat([lm.Embed(ids), latents], 1);
        using var cache = new KvCache(lm.Config.Layers);
        var full = lm.call(new LmInput(embeds, cache, AttentionCapture.All));

        var p = trace.InputIds.Count;
        var worst = 0.0;
        for (int q = 0; q <= trace.Latents!.Count; q++)
        {
            var name = q == 0 ? "bot" : $"z{q}";
            for (int l = 0; l < lm.Config.Layers; l++)
            {
                var row = full.Attention![l][0, .., p - 1 + q, TensorIndex.Slice(0, p + q)]; // [h, keys]
                var expected = trace.Attention[name][l];
                for (int h = 0; h < expected.Length; h++)
                {
                    var values = row[h].data<float>().ToArray();
                    worst = Math.Max(worst, expected[h].Zip(values, (a, b) => Math.Abs(a - b)).Max());
                }
                // Nothing after the query is visible.
                if (p + q < embeds.shape[1]) Assert.Equal(0f, full.Attention![l][0, .., p - 1 + q, TensorIndex.Slice(p + q, null)].abs().max().item<float>());
            }
        }
        output.WriteLine($"{fixture}: worst difference cache vs full forward {worst:E2}");
        Assert.InRange(worst, 0, 1e-5);
    }

    [SharedTheory]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-llama")]
    public void A_left_padded_batch_equals_batch_one_runs(string fixture)
    {
        TorchRuntime.Initialize();
        var folder = TestPaths.Fixture(fixture);
        var references = TraceJson.Read(Path.Combine(folder, "reference.json"));
        using var model = CodiModel.Load(folder);
        var prompts = references.Select(r => new CodiModel.Prompt(r.Question, model.PromptIds(r.Question))).ToList();
        Assert.True(prompts.Select(p => p.Ids.Count).Distinct().Count() > 1, "the fixture questions should have mixed lengths");

        var batch = model.TraceBatch(prompts, 12);
        var worst = 0.0;
        for (int i = 0; i < prompts.Count; i++)
        {
            var single = model.TraceIds(prompts[i].Question, prompts[i].Ids, 12);
            Assert.Equal(single.InputIds, batch[i].InputIds);
            Assert.Equal(single.LogitLensTop1, batch[i].LogitLensTop1);
            Assert.Equal(single.AnswerIds, batch[i].AnswerIds);
            Assert.Equal(references[i].AnswerIds, batch[i].AnswerIds);
            worst = Math.Max(worst, TraceComparison.WorstAttentionDifference(single, batch[i]));
        }
        output.WriteLine($"{fixture}: batch of {prompts.Count} (lengths {string.Join(",", prompts.Select(p => p.Ids.Count))}) vs batch 1: worst attention difference {worst:E2}");
        Assert.InRange(worst, 0, 1e-4);
    }

    [SharedFact]
    public void A_hundred_traces_leave_no_tensor_alive()
    {
        TorchRuntime.Initialize();
        var folder = TestPaths.Fixture("tiny-llama");
        var questions = TraceJson.Read(Path.Combine(folder, "reference.json")).Select(r => r.Question).ToList();
        using var model = CodiModel.Load(folder);
        model.Trace(questions[0], 4); // warm-up
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 100; i++) model.Trace(questions[i % questions.Count], 4);
        var after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        output.WriteLine($"live tensors before {before}, after 100 traces {after}");
        Assert.Equal(before, after);
    }

    [SharedTheory]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-llama")]
    public void Bfloat16_stays_close_to_the_float32_reference(string fixture)
    {
        TorchRuntime.Initialize();
        var folder = TestPaths.Fixture(fixture);
        var references = TraceJson.Read(Path.Combine(folder, "reference.json"));
        using var model = CodiModel.Load(folder, new CodiOptions(DType: ScalarType.BFloat16));
        var worst = 0.0;
        var sameLens = 0;
        foreach (var reference in references)
        {
            var trace = model.Trace(reference.Question, reference.AnswerIds.Count);
            Assert.Equal(reference.InputIds, trace.InputIds);
            worst = Math.Max(worst, TraceComparison.WorstAttentionDifference(reference, trace));
            sameLens += reference.LogitLensTop1.Zip(trace.LogitLensTop1).Count(p => p.First == p.Second);
        }
        output.WriteLine($"{fixture} bfloat16: worst attention difference {worst:E2}; logit-lens ids equal {sameLens}/{references.Count * 7}");
        // bf16 keeps 8 bits of mantissa: probabilities agree to about 1e-2, not 1e-4.
        Assert.InRange(worst, 0, 0.05);
    }

    [SharedFact]
    public void Llama_tiktoken_ranks_and_tokenizer_json_encode_alike()
    {
        var fixture = TestPaths.Fixture("tiny-llama");
        using var folder = new TempFolder();
        Directory.CreateDirectory(Path.Combine(folder.Path, "original"));
        File.Copy(Path.Combine(fixture, "original", "tokenizer.model"), Path.Combine(folder.Path, "original", "tokenizer.model"));
        var fromJson = CodiTokenizer.Load(fixture, "llama", 496);
        var fromRanks = CodiTokenizer.Load(folder.Path, "llama", 496);
        Assert.EndsWith("tokenizer.model", fromRanks.Source, StringComparison.Ordinal);
        Assert.Equal(fromJson.Eos, fromRanks.Eos);
        Assert.Equal(fromJson.Bos, fromRanks.Bos);
        foreach (var reference in TraceJson.Read(Path.Combine(fixture, "reference.json")))
        {
            Assert.Equal(reference.InputIds.SkipLast(1), fromRanks.Encode(reference.Question));
            Assert.Equal(reference.InputIds.SkipLast(1), fromJson.Encode(reference.Question));
        }
    }

    [SharedFact]
    public void Gpt2_vocab_merges_and_tokenizer_json_encode_alike()
    {
        var fixture = TestPaths.Fixture("tiny-gpt2");
        using var folder = new TempFolder();
        File.Copy(Path.Combine(fixture, "tokenizer.json"), Path.Combine(folder.Path, "tokenizer.json"));
        var fromFiles = CodiTokenizer.Load(fixture, "gpt2", 481);
        var fromJson = CodiTokenizer.Load(folder.Path, "gpt2", 481);
        Assert.EndsWith("vocab.json", fromFiles.Source, StringComparison.Ordinal);
        Assert.Equal([480], fromFiles.Eos);
        foreach (var reference in TraceJson.Read(Path.Combine(fixture, "reference.json")))
        {
            Assert.Equal(reference.InputIds.SkipLast(1), fromFiles.Encode(reference.Question));
            Assert.Equal(reference.InputIds.SkipLast(1), fromJson.Encode(reference.Question));
        }
    }

    [Theory]
    [InlineData("What is 2+2?  It is 4.", "What is 2+2? It is 4.")]
    [InlineData("  padded question \n", "padded question")]
    [InlineData("a   b", "a  b")] // one pass of replace("  ", " "), as the official code
    public void Questions_are_normalised_like_the_official_code(string raw, string expected) =>
        Assert.Equal(expected, CodiTokenizer.NormalizeQuestion(raw));

    [Theory]
    [InlineData("The answer is 1,234.5 dollars", 1234.5)]
    [InlineData("3 then -7", -7.0)]
    [InlineData("no digits", null)]
    public void The_answer_is_the_last_number(string text, double? expected) => Assert.Equal(expected, CodiModel.ParseAnswer(text));
}
