using CodiLab.Models.Architectures;
using CodiLab.Models.Interventions;
using static TorchSharp.torch;

namespace CodiLab.Models.Codi;

/// <summary>The parts of the CODI loop that only interventions need: fed-thought replacement and the teacher-forced gold score.</summary>
public sealed partial class CodiModel
{
    /// <summary>The training format of an answer after EOT, before EOS.</summary>
    public static string AnswerText(string gold) => $"The answer is: {gold}";

    /// <summary>
    /// The ids the model is trained to emit after EOT for a gold answer: "The answer is: {gold}" (without the start
    /// token) and the EOS id the training tokenizer appends (the last of the EOS ids: LLaMA's &lt;|eot_id|&gt; of
    /// the Instruct tokenizer, GPT-2's &lt;|endoftext|&gt;).
    /// </summary>
    public IReadOnlyList<int> GoldTargetIds(string gold)
    {
        var ids = Tokenizer.Encode(AnswerText(gold));
        var body = Ids.Bos is { } bos && ids.Count > 0 && ids[0] == bos ? ids.Skip(1) : ids;
        return [.. body, Ids.Eos[^1]];
    }

    // The thought fed at z_k: prj's output, or its replacement; after a HoldFixed replacement, later thoughts are the
    // original ones (unless replaced themselves). Rows left alone keep prj's output bit for bit.
    private Tensor FedLatent(Tensor z, int k, BatchLayout batch)
    {
        var replacements = batch.Latent.Where(r => r.K == k).ToList();
        var fixedFrom = batch.Latent.Where(r => r.Later == LaterLatents.HoldFixed).Select(r => r.K).DefaultIfEmpty(int.MaxValue).Min();
        var hold = batch.Held is not null && k > fixedFrom;
        if (replacements.Count == 0 && !hold) return z;
        var d = (int)z.shape[2];
        var fed = z.clone();
        for (int row = 0; row < batch.Rows; row++)
        {
            var value = hold ? batch.Held![row][k - 1] : null;
            foreach (var replacement in replacements) value = replacement.With.For(row, d) ?? value;
            if (value is null) continue;
            using var v = tensor(value, dtype: z.dtype, device: z.device);
            fed.index_put_(v, TensorIndex.Single(row), TensorIndex.Single(0));
        }
        return fed;
    }

    // The thoughts of the same batch without latent replacements (other interventions kept), when one holds later ones fixed.
    private IReadOnlyList<float[]>[]? HeldLatents(IReadOnlyList<Prompt> prompts, IReadOnlyList<Intervention> interventions)
    {
        if (!interventions.OfType<LatentReplacement>().Any(r => r.Later == LaterLatents.HoldFixed)) return null;
        var others = interventions.Where(i => i is not (LatentReplacement or ResidualCapture or HeadInputRecorder)).ToList();
        var original = TraceBatch([.. prompts.Select(p => p with { Gold = null })], 0, others);
        return [.. original.Select(t => t.Latents!)];
    }

    // After the thoughts: one teacher-forced pass over EOT and the gold answer (right-padded per row; causal, so a
    // row's pads never reach its real positions), scored with the greedy decoder's distribution (log-softmax over ids
    // < V+2); the cache is then cut back so decoding starts from EOT as usual.
    private double?[] GoldLogProbs(IReadOnlyList<Prompt> prompts, BatchLayout batch)
    {
        using var scope = NewDisposeScope();
        var b = batch.Rows;
        var targets = prompts.Select(p => p.Gold is null ? null : GoldTargetIds(p.Gold)).ToArray();
        var m = targets.Max(t => t?.Count ?? 0);
        var inputs = new long[b * m];
        var targetIds = new long[b * m];
        var positions = new long[b * m];
        for (int i = 0; i < b; i++)
            for (int j = 0; j < m; j++)
            {
                var target = targets[i];
                inputs[i * m + j] = j == 0 ? Ids.Eot : target is not null && j - 1 < target.Count ? target[j - 1] : Ids.Pad;
                targetIds[i * m + j] = target is not null && j < target.Count ? target[j] : 0;
                positions[i * m + j] = batch.Lengths[i] + NumLatent + j;
            }
        var past = batch.Cache.Length;
        var mask = ForcedMask(batch, past, m);
        using var ids = tensor(inputs, [b, m], device: Device);
        var input = new LmInput(Lm.Embed(ids), batch.Cache, AttentionCapture.None, mask,
            batch.PadKeys is null ? null : tensor(positions, [b, m], device: Device), batch.Forward,
            batch.Step(StepKind.Answer, teacherForced: true));
        var output = Lm.call(input);
        var logits = Lm.Logits(output.Hidden)[.., .., TensorIndex.Slice(0, LensLimit)].to_type(ScalarType.Float32);
        using var targetTensor = tensor(targetIds, [b, m, 1], device: Device);
        var scores = nn.functional.log_softmax(logits, -1).gather(-1, targetTensor).squeeze(-1).cpu().data<float>().ToArray();
        batch.Cache.Truncate(past);
        return [.. Enumerable.Range(0, b).Select(i => targets[i] is { } t
            ? (double?)Enumerable.Range(0, t.Count).Sum(j => (double)scores[i * m + j]) : null)];
    }

    // The teacher-forced pass's mask [b, 1, m, T]: causal over the cache and the m new positions, pads of the prompt hidden.
    private Tensor? ForcedMask(BatchLayout batch, long past, int m)
    {
        var dtype = Lm.EmbeddingTable.dtype;
        var causal = Attention.Causal(past, m, dtype, Device);
        if (batch.PadKeys is null) return causal;
        var b = batch.Rows;
        var pads = cat([batch.PadKeys, zeros([b, 1, 1, past + m - batch.Width], dtype: dtype, device: Device)], 3);
        return causal is null ? pads : causal.add(pads).clamp_min(Attention.MinValue(dtype));
    }
}
