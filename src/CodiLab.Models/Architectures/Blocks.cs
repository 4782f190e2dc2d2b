using static TorchSharp.torch;

namespace CodiLab.Models.Architectures;

/// <summary>
/// A change to the forward pass (head ablation, attention-edge blocking, residual patching, …), carried in the
/// inputs of the model, its blocks and their attention so that nothing about a run lives in global state.
/// The kinds live in <c>CodiLab.Models.Interventions</c> (docs/interventions.md); each says where and when it applies
/// (layers, heads, labelled positions, scope) and is applied by the module that owns that site. A forward pass refuses
/// a kind it does not know rather than ignoring it (see <see cref="CausalLm"/>).
/// </summary>
public abstract record Intervention;

/// <summary>RoPE angles of the new positions, in the model dtype: cos and sin [b, 1, t, hd] (LLaMA only).</summary>
public sealed record RotaryAngles(Tensor Cos, Tensor Sin);

/// <summary>The input of one decoder block over the new positions of a step.</summary>
/// <param name="Hidden">The residual stream [b, t, d].</param>
/// <param name="Cache">This layer's keys and values of earlier positions; the new ones are appended.</param>
/// <param name="Mask">Additive mask [b or 1, 1 or h, t, T] (T = cached + new keys), or null when every key is visible.</param>
/// <param name="Rotary">Position information for rotary models; null for GPT-2, whose positions are added to the inputs.</param>
/// <param name="Capture">Which query rows' attention probabilities to return.</param>
/// <param name="Interventions">The interventions of this forward pass (empty: the plain model).</param>
public sealed record BlockInput(
    Tensor Hidden, KvCacheEntry Cache, Tensor? Mask, RotaryAngles? Rotary, AttentionCapture Capture,
    IReadOnlyList<Intervention> Interventions)
{
    /// <summary>The input of this block's attention: the same step, over the normalised stream of layer <paramref name="layer"/>.</summary>
    public AttentionInput ToAttention(Tensor normed, int layer) => new(normed, layer, Cache, Mask, Rotary, Capture, Interventions);
}

/// <summary>The output of one decoder block.</summary>
/// <param name="Hidden">The residual stream after the block [b, t, d].</param>
/// <param name="Probabilities">The attention probabilities asked for by the capture request (float32), else null.</param>
public sealed record BlockOutput(Tensor Hidden, Tensor? Probabilities);

/// <summary>The input of a block's self-attention.</summary>
/// <param name="Hidden">The normalised residual stream [b, t, d].</param>
/// <param name="Layer">The index of the layer this attention belongs to (where interventions name their site).</param>
/// <param name="Cache">This layer's keys and values; the new ones are appended.</param>
/// <param name="Mask">Additive mask [b or 1, 1 or h, t, T], or null when every key is visible.</param>
/// <param name="Rotary">RoPE angles (LLaMA), else null.</param>
/// <param name="Capture">Which query rows' probabilities to return.</param>
/// <param name="Interventions">The interventions of this forward pass.</param>
public sealed record AttentionInput(
    Tensor Hidden, int Layer, KvCacheEntry Cache, Tensor? Mask, RotaryAngles? Rotary, AttentionCapture Capture,
    IReadOnlyList<Intervention> Interventions);

/// <summary>The output of a self-attention.</summary>
/// <param name="Hidden">The attention output after the output projection [b, t, d].</param>
/// <param name="Probabilities">[b, h, 1, T] (last row) or [b, h, t, T] (all rows) in float32, or null (no capture).</param>
public sealed record AttentionOutput(Tensor Hidden, Tensor? Probabilities);

/// <summary>
/// One pre-norm transformer layer: x + attn(norm₁(x)), then + mlp(norm₂(·)). Blocks and their submodules are
/// invoked through <c>call</c>, so forward hooks registered on them fire.
/// </summary>
public abstract class DecoderBlock : nn.Module<BlockInput, BlockOutput>
{
    /// <summary>Creates the block for layer <paramref name="index"/>.</summary>
    protected DecoderBlock(string name, int index) : base(name) => Index = index;

    /// <summary>The layer index (0-based) of this block.</summary>
    public int Index { get; }

    /// <summary>The block's self-attention (a place to hook or, later, to intervene).</summary>
    public abstract nn.Module<AttentionInput, AttentionOutput> SelfAttention { get; }

    /// <summary>
    /// The attention's output projection in Linear layout [d, H·hd] (o_proj; GPT-2's c_proj transposed), without its
    /// bias: head h's map W_O^h is columns [hd·h, hd·(h+1)).
    /// </summary>
    public abstract Tensor OutputProjection { get; }
}
