using static TorchSharp.torch;

namespace CodiLab.Models.Architectures;

/// <summary>
/// The size of what each cached position would write through each head: ‖W_O^h v_p‖, the norm of the value of key p
/// (from head h's KV group) mapped by head h's block of the output projection, bias left out (Kobayashi et al. 2020).
/// Weighting attention by it separates a sink (much attention, tiny contribution) from a hub.
/// </summary>
public static class HeadValueNorms
{
    /// <summary>
    /// Per layer, ‖W_O^h v_p‖ for every row, head and cached position: [b, H, T] float32 on the cache's device.
    /// Values never change once cached (attention is causal), so one call after the last latent step serves every
    /// query. Computed as sqrt(vᵀ G_h v) with G_h = W_O^hᵀ W_O^h [hd, hd], which needs [b, H, T, hd] memory instead of
    /// the [b, H, T, d] of mapping every value.
    /// </summary>
    public static IReadOnlyList<Tensor> Of(CausalLm lm, KvCache cache)
    {
        var c = lm.Config;
        var group = c.Heads / c.KvHeads;
        var result = new List<Tensor>();
        for (int l = 0; l < c.Layers; l++)
        {
            using var scope = NewDisposeScope();
            var values = cache[l].Values?.to_type(ScalarType.Float32)
                ?? throw new InvalidOperationException("value norms need a filled KV cache");
            if (group > 1) values = values.repeat_interleave(group, 1); // KV head g serves query heads g·n .. g·n+n−1
            var w = lm.Blocks[l].OutputProjection.to_type(ScalarType.Float32); // [d, H·hd]
            var perHead = w.view(w.shape[0], c.Heads, c.HeadDim).permute(1, 0, 2); // [H, d, hd]
            var gram = perHead.transpose(1, 2).matmul(perHead); // [H, hd, hd]
            var squared = values.matmul(gram).mul(values).sum(-1); // [b, H, T]
            result.Add(squared.clamp_min(0).sqrt().MoveToOuterDisposeScope());
        }
        return result;
    }
}
