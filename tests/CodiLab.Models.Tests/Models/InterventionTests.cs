using CodiLab.Models;
using CodiLab.Models.Architectures;
using CodiLab.Models.Codi;
using CodiLab.Models.Interventions;
using CodiLab.Tests.Support;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace CodiLab.Tests.Models;

/// <summary>
/// Interventions in the runtime, tested on the reference fixtures the way the seed's causal follow-ups would have
/// been caught: ablation at the right site, masks that block only what they name, patches that read and write the same site.
/// </summary>
public sealed class InterventionTests(ITestOutputHelper output)
{
    private const int Decode = 8;

    [SharedTheory]
    [InlineData("tiny-llama")]
    [InlineData("tiny-gpt2")]
    public void Ablating_a_head_whose_output_projection_input_columns_are_zero_changes_nothing_while_another_head_does(string fixture)
    {
        using var model = Load(fixture, out var question);
        var (layer, dead, live) = (1, 2, 0);
        ZeroInputColumns(model, layer, dead);
        var plain = model.Trace(question, Decode, [], gold: "18");

        var same = model.Trace(question, Decode, [new HeadAblation(layer, dead)], gold: "18");
        var changed = model.Trace(question, Decode, [new HeadAblation(layer, live)], gold: "18");

        output.WriteLine($"dead head: {Diff(plain, same):E2}; live head: {Diff(plain, changed):E2}; "
            + $"gold log-prob {plain.GoldLogProb:F4} -> {changed.GoldLogProb:F4}");
        Assert.True(Diff(plain, same) <= 1e-6, $"ablating a head that writes nothing moved the run by {Diff(plain, same)}");
        Assert.Equal(plain.GoldLogProb!.Value, same.GoldLogProb!.Value, 1e-6);
        Assert.True(Diff(plain, changed) > 1e-4, $"ablating head {live} changed the run by only {Diff(plain, changed)}");
        Assert.NotEqual(plain.GoldLogProb!.Value, changed.GoldLogProb!.Value, 1e-6);
    }

    [SharedTheory]
    [InlineData("tiny-llama")]
    [InlineData("tiny-gpt2")]
    public void An_output_slice_ablation_fails_the_zero_column_check_so_it_is_not_a_head_ablation(string fixture)
    {
        // The seed's "head ablation" zeroed dims [hd·h, hd·(h+1)) of the projection's OUTPUT. Give head h zero input
        // columns (it then contributes nothing) and that "ablation" still moves the run: it ablates residual
        // dimensions, not the head.
        using var model = Load(fixture, out var question);
        var (layer, dead) = (1, 2);
        var headDim = model.Loaded.Config.HeadDim;
        ZeroInputColumns(model, layer, dead);
        var plain = model.Trace(question, Decode, []);
        var projection = OutputProjection(model, layer);
        var hook = projection.register_forward_hook((_, _, result) =>
        {
            var sliced = result.clone();
            sliced[.., .., TensorIndex.Slice(headDim * dead, headDim * (dead + 1))] = zeros(1);
            return sliced;
        });
        var outputSlice = model.Trace(question, Decode, []);
        hook.remove();

        output.WriteLine($"output-slice 'ablation' of a head with zero columns moved the run by {Diff(plain, outputSlice):E2}");
        Assert.True(Diff(plain, outputSlice) > 1e-4, "the output-slice ablation should visibly change the run (the seed's bug)");
    }

    [SharedTheory]
    [InlineData("tiny-llama")]
    [InlineData("tiny-gpt2")]
    public void Blocked_cells_are_exactly_zero_in_the_captured_probabilities_and_every_row_sums_to_one(string fixture)
    {
        using var model = Load(fixture, out var question);
        var c = model.Loaded.Config;
        var bot = new EdgeBlock([.. EdgePattern.Expand("z*->BOT", model.NumLatent).Edges, new Edge(Position.Bot, Position.P0)]);
        var previous = new EdgeBlock(EdgePattern.Expand("z*->z*-1", model.NumLatent).Edges, Layers: [0], Heads: [1]);
        var plain = model.Trace(question, Decode, []);
        var blocked = model.Trace(question, Decode, [bot, previous]);
        var p = plain.InputIds.Count;

        Assert.All(blocked.Attention["bot"], heads => Assert.All(heads, row => Assert.Equal(0f, row[0])));
        for (int k = 1; k <= model.NumLatent; k++)
            for (int l = 0; l < c.Layers; l++)
                for (int h = 0; h < c.Heads; h++)
                {
                    var row = blocked.Attention[$"z{k}"][l][h];
                    Assert.Equal(0f, row[p - 1]); // BOT
                    Assert.Equal(1.0, row.Sum(x => (double)x), 1e-5);
                    var previousKey = row[p + k - 2]; // z_{k-1} (BOT for k = 1)
                    if (k > 1 && l == 0 && h == 1) Assert.Equal(0f, previousKey);
                    if (k > 1 && !(l == 0 && h == 1)) Assert.True(previousKey > 0, $"z{k}->z{k - 1} blocked in L{l}H{h} too");
                }
        Assert.All(blocked.Attention["bot"], heads => Assert.All(heads, row => Assert.Equal(1.0, row.Sum(x => (double)x), 1e-5)));
        Assert.True(plain.Attention["z2"][0][0][p - 1] > 0, "the plain run attends to BOT");
        output.WriteLine($"z2 L0H0 -> BOT: plain {plain.Attention["z2"][0][0][p - 1]:G6}, blocked {blocked.Attention["z2"][0][0][p - 1]}");
    }

    [SharedTheory]
    [InlineData("tiny-llama")]
    [InlineData("tiny-gpt2")]
    public void No_row_is_ever_fully_masked_and_the_mask_length_equals_the_key_length_at_every_step(string fixture)
    {
        using var model = Load(fixture, out _);
        var prompts = Prompts(model, fixture, 3);
        string[] patterns = ["z*->z*", "z*->BOT", "z*->P0", "z*->question", "EOT->z*", "A1->question", "question->P0", "BOT->question"];
        var edges = patterns.SelectMany(e => EdgePattern.Expand(e, model.NumLatent).Edges).ToList();
        const double min = float.MinValue; // the fixtures run in float32
        var (checkedRows, masks) = (0L, 0);
        var hooks = model.Loaded.Network.Lm.Blocks.Select(b => b.SelfAttention.register_forward_hook((_, input, result) =>
        {
            var t = input.Hidden.shape[1];
            if (input.Mask is { } mask)
            {
                masks++;
                Assert.Equal(input.Cache.Length, mask.shape[^1]); // the cache already holds this step's keys
                Assert.Equal(t, mask.shape[^2]);
                // Every query keeps at least its own key.
                var visible = mask.gt(min / 2).any(-1);
                Assert.True(visible.all().item<bool>(), "a query row with every key masked");
                var own = mask[.., .., .., TensorIndex.Slice(input.Cache.Length - t)].diagonal(0, -2, -1);
                Assert.True(own.eq(0).all().item<bool>(), "a query blocked from itself");
                checkedRows += visible.numel();
            }
            return result;
        })).ToList();
        var traces = model.TraceBatch(prompts, Decode, [new EdgeBlock(edges)]);
        hooks.ForEach(h => h.remove());

        output.WriteLine($"{masks} masks, {checkedRows} query rows checked");
        Assert.True(masks >= model.Loaded.Config.Layers * (2 + model.NumLatent));
        foreach (var trace in traces)
            foreach (var (_, layers) in trace.Attention)
                Assert.All(layers, heads => Assert.All(heads, row => Assert.Equal(1.0, row.Sum(x => (double)x), 1e-5)));
    }

    [SharedTheory]
    [InlineData("tiny-llama")]
    [InlineData("tiny-gpt2")]
    public void An_identity_patch_changes_nothing_and_a_donor_patch_does(string fixture)
    {
        using var model = Load(fixture, out var question);
        var donorQuestion = Questions(fixture)[3];
        var site = new ResidualCapture(Position.Latent(3), 1);
        var plain = model.Trace(question, Decode, [site], gold: "7");
        var donor = model.Trace(donorQuestion, Decode, [site]);

        var selfLatent = model.Trace(question, Decode, [new LatentReplacement(3, Replacement.Shared(plain.Latents![2]))], gold: "7");
        var selfResidual = model.Trace(question, Decode, [new ResidualPatch(site.At, site.Layer, Replacement.Shared(plain.Residuals![site.Key]))], gold: "7");
        var donorLatent = model.Trace(question, Decode, [new LatentReplacement(3, Replacement.Shared(donor.Latents![2]))], gold: "7");
        var donorResidual = model.Trace(question, Decode, [new ResidualPatch(site.At, site.Layer, Replacement.Shared(donor.Residuals![site.Key]))]);

        output.WriteLine($"identity: latent {Diff(plain, selfLatent):E2}, residual {Diff(plain, selfResidual):E2}; "
            + $"donor: latent {Diff(plain, donorLatent):E2}, residual {Diff(plain, donorResidual):E2}");
        Assert.True(Diff(plain, selfLatent) <= 1e-6);
        Assert.True(Diff(plain, selfResidual) <= 1e-6);
        Assert.Equal(plain.GoldLogProb!.Value, selfLatent.GoldLogProb!.Value, 1e-6);
        Assert.Equal(plain.GoldLogProb!.Value, selfResidual.GoldLogProb!.Value, 1e-6);
        Assert.True(Diff(plain, donorLatent) > 1e-4);
        Assert.True(Diff(plain, donorResidual) > 1e-4);
        // The latent patch feeds exactly the donor's z3; the residual patch wrote the site it read.
        Assert.Equal(donor.Latents![2], donorLatent.Latents![2]);
        var again = model.Trace(question, Decode, [new ResidualPatch(site.At, site.Layer, Replacement.Shared(donor.Residuals![site.Key])), site]);
        Assert.Equal(donor.Residuals![site.Key], again.Residuals![site.Key]);
    }

    [SharedTheory]
    [InlineData("tiny-llama")]
    [InlineData("tiny-gpt2")]
    public void Later_thoughts_are_recomputed_by_default_and_held_at_their_original_values_on_request(string fixture)
    {
        using var model = Load(fixture, out var question);
        var plain = model.Trace(question, Decode, []);
        var recomputed = model.Trace(question, Decode, [new LatentReplacement(2, Replacement.Zero)]);
        var held = model.Trace(question, Decode, [new LatentReplacement(2, Replacement.Zero, LaterLatents.HoldFixed)]);

        Assert.Equal(new float[model.Loaded.Config.Hidden], recomputed.Latents![1]);
        Assert.Equal(new float[model.Loaded.Config.Hidden], held.Latents![1]);
        Assert.Equal(plain.Latents![0], held.Latents[0]);
        for (int k = 2; k < model.NumLatent; k++) Assert.Equal(plain.Latents[k], held.Latents[k]);
        Assert.True(MaxDiff(plain.Latents[2], recomputed.Latents[2]) > 1e-4, "z3 should follow the zeroed z2");
    }

    [SharedFact]
    public void Zeroing_a_kv_groups_values_equals_zero_ablating_every_query_head_it_serves()
    {
        using var model = Load("tiny-llama", out var question);
        var c = model.Loaded.Config;
        var group = new KvGroupAblation(0, 1, KvPart.Value, Scope.Latent);
        var heads = group.QueryHeads(c);
        Assert.Equal(Enumerable.Range(c.Heads / c.KvHeads, c.Heads / c.KvHeads), heads);
        var byGroup = model.Trace(question, Decode, [group]);
        var byHeads = model.Trace(question, Decode, [.. heads.Select(h => new HeadAblation(0, h, Scope.Latent))]);
        var plain = model.Trace(question, Decode, []);
        Assert.True(Diff(byGroup, byHeads) <= 1e-6, $"differ by {Diff(byGroup, byHeads)}");
        Assert.True(Diff(plain, byGroup) > 1e-4);
        // Latent scope: the prompt pass (and so BOT's row) is the plain one.
        Assert.Equal(plain.Attention["bot"][1][0], byGroup.Attention["bot"][1][0]);
        var keys = model.Trace(question, Decode, [group with { Part = KvPart.Key }]);
        Assert.True(Diff(plain, keys) > 1e-4);
    }

    [SharedTheory]
    [InlineData("tiny-llama")]
    [InlineData("tiny-gpt2")]
    public void Batched_interventions_equal_batch_one_runs_per_problem(string fixture)
    {
        using var model = Load(fixture, out _);
        var prompts = Prompts(model, fixture, 4);
        Assert.True(prompts.Select(p => p.Ids.Count).Distinct().Count() > 1, "the batch must need padding");
        var donors = model.TraceBatch([.. Enumerable.Reverse(prompts)], 0);
        var means = HeadMeans.Compute(model, prompts, Scope.Latent, batchSize: 3, maxNewTokens: 0);
        IReadOnlyList<Intervention> interventions =
        [
            means.Ablation(1, 1, Scope.Latent),
            new HeadAblation(0, 3, Scope.Answer),
            new EdgeBlock([.. EdgePattern.Expand("z*->BOT", model.NumLatent).Edges, .. EdgePattern.Expand("EOT->question", 6).Edges]),
            new LatentReplacement(4, Replacement.PerRow([.. donors.Select(d => d.Latents![3]).Take(3), null])),
            new ResidualPatch(Position.Bot, 0, Replacement.Zero),
            new ResidualCapture(Position.Latent(2), 1),
        ];
        var batched = model.TraceBatch(prompts, Decode, interventions);
        var worst = 0.0;
        for (int i = 0; i < prompts.Count; i++)
        {
            var single = model.TraceBatch([prompts[i]], Decode, InterventionRows.ForRows(interventions, [i]))[0];
            Assert.Equal(single.AnswerIds, batched[i].AnswerIds);
            Assert.Equal(single.LogitLensTop1, batched[i].LogitLensTop1);
            worst = Math.Max(worst, Diff(single, batched[i]));
            worst = Math.Max(worst, Math.Abs(single.GoldLogProb!.Value - batched[i].GoldLogProb!.Value));
            worst = Math.Max(worst, MaxDiff(single.Residuals!["z2@1"], batched[i].Residuals!["z2@1"]));
        }
        output.WriteLine($"worst batched vs batch-1 difference: {worst:E2}");
        Assert.True(worst <= 1e-4, $"batched runs differ from batch-1 runs by {worst}");
    }

    [SharedTheory]
    [InlineData("tiny-llama")]
    [InlineData("tiny-gpt2")]
    public void A_run_with_an_empty_intervention_list_is_the_plain_trace(string fixture)
    {
        using var model = Load(fixture, out _);
        var prompts = Prompts(model, fixture, 3);
        var plain = model.TraceBatch(prompts, Decode);
        var empty = model.TraceBatch(prompts, Decode, []);
        for (int i = 0; i < prompts.Count; i++)
        {
            Assert.Equal(0.0, Diff(plain[i], empty[i]));
            Assert.Equal(TraceJson.ToJson(plain[i]).ToJsonString(), TraceJson.ToJson(empty[i]).ToJsonString());
            Assert.Null(empty[i].Interventions);
        }
    }

    [SharedTheory]
    [InlineData("tiny-llama")]
    [InlineData("tiny-gpt2")]
    public void The_gold_log_probability_is_the_teacher_forced_sum_over_the_training_format(string fixture)
    {
        using var model = Load(fixture, out var question);
        var gold = "18";
        var targets = model.GoldTargetIds(gold);
        Assert.Equal(model.Ids.Eos[^1], targets[^1]);
        Assert.Equal("The answer is: 18", model.Tokenizer.Decode(targets, model.Loaded.Config.VocabSize));
        if (model.Ids.Bos is { } bos) Assert.DoesNotContain(bos, targets);
        var trace = model.Trace(question, Decode, [], gold);

        // One causal pass over [prompt, z1..zN, EOT, targets…] scores the same tokens independently of the loop.
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var lm = model.Loaded.Network.Lm;
        long[] after = [model.Ids.Eot, .. targets.Take(targets.Count - 1).Select(t => (long)t)];
        var embeds = cat([lm.Embed(tensor(trace.InputIds.Select(i => (long)i).ToArray(), [1, trace.InputIds.Count])),
            stack(trace.Latents!.Select(z => tensor(z)).ToArray()).unsqueeze(0), lm.Embed(tensor(after, [1, after.Length]))], 1);
        using var cache = new KvCache(lm.Config.Layers);
        var hidden = lm.call(new LmInput(embeds, cache)).Hidden[0, TensorIndex.Slice(-after.Length)];
        var logProbs = nn.functional.log_softmax(lm.Logits(hidden)[.., TensorIndex.Slice(0, model.Ids.Eot)], -1);
        var expected = targets.Select((t, j) => logProbs[j, t].item<float>()).Sum(x => (double)x);
        output.WriteLine($"gold log-prob {trace.GoldLogProb:F6}, independent {expected:F6}");
        Assert.Equal(expected, trace.GoldLogProb!.Value, 1e-4);
        // Scoring the gold leaves the greedy answer as it was.
        Assert.Equal(model.Trace(question, Decode).AnswerIds, trace.AnswerIds);
    }

    [SharedFact]
    public void Head_means_count_only_real_positions_and_do_not_depend_on_batching()
    {
        using var model = Load("tiny-llama", out _);
        var prompts = Prompts(model, "tiny-llama", 3);
        var batched = HeadMeans.Compute(model, prompts, Scope.Prompt, batchSize: 3, maxNewTokens: 0);
        var single = HeadMeans.Compute(model, prompts, Scope.Prompt, batchSize: 1, maxNewTokens: 0);
        var latent = HeadMeans.Compute(model, prompts, Scope.Latent, batchSize: 3, maxNewTokens: 0);
        Assert.Equal(prompts.Sum(p => (long)p.Ids.Count), batched.Positions);
        Assert.Equal(prompts.Count * (long)model.NumLatent, latent.Positions);
        Assert.Equal(model.Loaded.Config.HeadDim, batched.Means[0][0].Length);
        for (int l = 0; l < batched.Means.Length; l++)
            for (int h = 0; h < batched.Means[l].Length; h++)
                Assert.True(MaxDiff(batched.Means[l][h], single.Means[l][h]) <= 1e-5);
        Assert.True(MaxDiff(batched.Means[1][0], latent.Means[1][0]) > 1e-4, "prompt and latent means should differ");
    }

    [SharedFact]
    public void An_intervention_naming_what_the_model_lacks_is_refused_with_exit_code_2()
    {
        using var model = Load("tiny-llama", out var question);
        Intervention[] bad =
        [
            new HeadAblation(9, 0), new HeadAblation(0, 4), new HeadAblation(0, 0, Mean: new float[3]),
            new KvGroupAblation(0, 2, KvPart.Key), new LatentReplacement(7, Replacement.Zero),
            new LatentReplacement(1, Replacement.Shared(new float[5])), new EdgeBlock([new Edge(Position.Latent(1), Position.Latent(3))]),
            new EdgeBlock([new Edge(Position.Latent(2), Position.Latent(2))]), new ResidualPatch(Position.Prompt(500), 0, Replacement.Zero),
        ];
        foreach (var intervention in bad)
        {
            var error = Assert.Throws<CodiLabException>(() => model.Trace(question, 1, [intervention]));
            Assert.Equal(ExitCodes.InvalidSpec, error.ExitCode);
            output.WriteLine(error.Message);
        }
        using var _ = no_grad();
        using var cache = new KvCache(model.Loaded.Config.Layers);
        var lm = model.Loaded.Network.Lm;
        var embeds = lm.Embed(tensor(new long[] { 1, 2 }, [1, 2]));
        Assert.Throws<NotSupportedException>(() => lm.call(new LmInput(embeds, cache, Interventions: [new LatentReplacement(1, Replacement.Zero)])));
        Assert.Throws<ArgumentException>(() => lm.call(new LmInput(embeds, cache, Interventions: [new EdgeBlock([new Edge(Position.Bot, Position.P0)])])));
    }

    [Fact]
    public void Edge_patterns_expand_by_label()
    {
        Assert.Equal(["z2->z1", "z3->z2", "z4->z3", "z5->z4", "z6->z5"], EdgePattern.Expand("z*->z*-1", 6).Edges.Select(e => e.ToString()));
        Assert.Equal(["z3->z1", "z4->z2"], EdgePattern.Expand("z*->z*-2", 4).Edges.Select(e => e.ToString()));
        Assert.Equal(6, EdgePattern.Expand("z*->BOT", 6).Edges.Count);
        Assert.Equal(["z1->P0", "z2->P0"], EdgePattern.Expand("z*->P0", 2).Edges.Select(e => e.ToString()));
        Assert.Equal(["z3->z1"], EdgePattern.Expand("z3->z1", 6).Edges.Select(e => e.ToString()));
        Assert.Equal(["z1->question"], EdgePattern.Expand("z*->question", 1).Edges.Select(e => e.ToString()));
        Assert.Equal(["EOT->z1", "EOT->z2"], EdgePattern.Expand("EOT->z*", 2).Edges.Select(e => e.ToString()));
        Assert.Equal(["z2->z1", "z3->z1", "z3->z2"], EdgePattern.Expand("z*->z*", 3).Edges.Select(e => e.ToString()));
        Assert.Equal(["z3->z1", "z3->z2"], EdgePattern.Expand("z3->z*", 6).Edges.Select(e => e.ToString()));
        foreach (var bad in new[] { "z3", "z3->", "q->z1", "z3->z*-1", "z*->z*-0", "z*->zz", "z0->P0" })
            Assert.NotNull(EdgePattern.Expand(bad, 6).Error);
    }

    [Theory]
    [InlineData("The answer is: 18", 18.0)]
    [InlineData("The answer is: 3.9", 3.9)]
    [InlineData("The answer is: 1,234,567", 1234567.0)]
    [InlineData("The answer is: -42", -42.0)]
    [InlineData("He had 5 apples, then 7. The answer is: 12", 12.0)]
    [InlineData("The answer is: 0.5.", 0.5)]
    public void The_answer_parser_takes_the_last_number_with_commas_removed(string text, double expected) =>
        Assert.Equal(expected, CodiModel.ParseAnswer(text));

    [Fact]
    public void The_answer_parser_keeps_decimals_and_gives_null_without_a_number()
    {
        Assert.NotEqual(3.0, CodiModel.ParseAnswer("3.9"));
        Assert.Equal(3.9, CodiModel.ParseAnswer("3.9"));
        Assert.Null(CodiModel.ParseAnswer("The answer is: none"));
        Assert.Null(CodiModel.ParseAnswer(""));
    }

    private static CodiModel Load(string fixture, out string question)
    {
        TorchRuntime.Initialize();
        question = Questions(fixture)[0];
        return CodiModel.Load(TestPaths.Fixture(fixture));
    }

    private static string[] Questions(string fixture) =>
        [.. TraceJson.Read(Path.Combine(TestPaths.Fixture(fixture), "reference.json")).Select(t => t.Question)];

    // The first n reference questions with golds, as a batch.
    private static List<CodiModel.Prompt> Prompts(CodiModel model, string fixture, int n) =>
        [.. Questions(fixture).Take(n).Select((q, i) => new CodiModel.Prompt(q, model.PromptIdsAsGiven(q), $"{10 * i + 3}"))];

    // Zeroes head h's input columns [hd·h, hd·(h+1)) of layer l's output projection in the loaded weights.
    private static void ZeroInputColumns(CodiModel model, int layer, int head)
    {
        var hd = model.Loaded.Config.HeadDim;
        var name = model.Loaded.Config.Arch == "gpt2" ? $"h.{layer}.attn.c_proj.weight" : $"layers.{layer}.self_attn.o_proj.weight";
        using var _ = no_grad();
        var weight = model.Loaded.Network.named_parameters().Single(p => p.name.EndsWith(name, StringComparison.Ordinal)).parameter;
        weight[.., TensorIndex.Slice(hd * head, hd * (head + 1))].zero_();
    }

    private static nn.Module<Tensor, Tensor> OutputProjection(CodiModel model, int layer)
    {
        var name = model.Loaded.Config.Arch == "gpt2" ? $"h.{layer}.attn.c_proj" : $"layers.{layer}.self_attn.o_proj";
        return (nn.Module<Tensor, Tensor>)model.Loaded.Network.named_modules().Single(m => m.name.EndsWith(name, StringComparison.Ordinal)).module;
    }

    // The largest difference between two runs over every thought and every captured attention row (NaN counts as infinite).
    private static double Diff(TraceResult a, TraceResult b)
    {
        var worst = 0.0;
        for (int k = 0; k < a.Latents!.Count; k++) worst = Math.Max(worst, MaxDiff(a.Latents[k], b.Latents![k]));
        foreach (var (query, layers) in a.Attention)
            for (int l = 0; l < layers.Length; l++)
                for (int h = 0; h < layers[l].Length; h++) worst = Math.Max(worst, MaxDiff(layers[l][h], b.Attention[query][l][h]));
        return worst;
    }

    private static double MaxDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        var worst = 0.0;
        for (int i = 0; i < a.Length; i++)
        {
            var d = Math.Abs((double)a[i] - b[i]);
            worst = Math.Max(worst, double.IsNaN(d) ? double.PositiveInfinity : d);
        }
        return worst;
    }
}
