using CodiLab.Models.Interventions;
using static TorchSharp.torch;

namespace CodiLab.Models.Architectures;

/// <summary>Which attention probabilities a forward pass returns.</summary>
public enum AttentionCapture
{
    /// <summary>None (fastest).</summary>
    None,
    /// <summary>The last query row of every layer: [b, h, 1, T].</summary>
    LastRow,
    /// <summary>Every query row of every layer: [b, h, t, T].</summary>
    All,
}

/// <summary>The input of one forward pass over new positions.</summary>
/// <param name="Embeds">Input vectors of the new positions [b, t, d] (token embeddings or continuous thoughts).</param>
/// <param name="Cache">Keys and values of earlier positions; the new ones are appended.</param>
/// <param name="Capture">Which attention probabilities to return.</param>
/// <param name="Mask">Optional additive mask [b, 1 or h, t, T]; default: causal over the cache plus the new positions.</param>
/// <param name="Positions">Optional position ids [b, t]; default: cache length + 0..t-1.</param>
/// <param name="Interventions">Interventions of this pass (default: none), resolved against <paramref name="Step"/>.</param>
/// <param name="Step">Which CODI step this pass is and where every label sits (the CODI loop gives it); null: a bare call,
/// where only all-scope head and KV ablations can apply.</param>
public sealed record LmInput(
    Tensor Embeds, KvCache Cache, AttentionCapture Capture = AttentionCapture.None, Tensor? Mask = null, Tensor? Positions = null,
    IReadOnlyList<Intervention>? Interventions = null, StepInfo? Step = null);

/// <summary>The output: post-norm hidden states (what the LM head sees) and, if asked, attention per layer (float32).</summary>
/// <param name="Hidden">Post-norm hidden states [b, t, d].</param>
/// <param name="Attention">Per layer, the probabilities asked for, or null.</param>
/// <param name="Residuals">Values read by <see cref="ResidualCapture"/> probes in this pass (key → per row [d]; a row
/// whose position is not in this pass is null), or null when none read anything.</param>
public sealed record LmOutput(Tensor Hidden, IReadOnlyList<Tensor>? Attention, IReadOnlyDictionary<string, float[][]>? Residuals = null);

/// <summary>A decoder-only language model with tied input/output embeddings and explicit attention.</summary>
public abstract class CausalLm : nn.Module<LmInput, LmOutput>
{
    /// <summary>Creates the module.</summary>
    protected CausalLm(string name, ModelConfig config) : base(name) => Config = config;

    /// <summary>The base model's shape.</summary>
    public ModelConfig Config { get; }

    /// <summary>The token embedding table [V+3, d] (also the LM head).</summary>
    public abstract Tensor EmbeddingTable { get; }

    /// <summary>Token embeddings [b, t, d] of ids [b, t] (positions are added inside the forward pass, GPT-2 style).</summary>
    public Tensor Embed(Tensor ids) => Lookup(EmbeddingTable, ids);

    /// <summary>Rows of a table [n, d] for ids of any shape: [.., d].</summary>
    protected static Tensor Lookup(Tensor table, Tensor ids) =>
        table.index_select(0, ids.reshape(-1)).reshape([.. ids.shape, table.shape[1]]);

    /// <summary>Logits over the whole CODI vocabulary [.., V+3] of post-norm hidden states.</summary>
    public Tensor Logits(Tensor hidden) => hidden.matmul(EmbeddingTable.t());

    /// <summary>The decoder blocks in layer order (to register hooks on; the forward pass calls them itself).</summary>
    public abstract IReadOnlyList<DecoderBlock> Blocks { get; }

    /// <summary>
    /// Runs the blocks over the stream x [b, t, d] and applies the final norm. Call it inside the forward pass's
    /// dispose scope: each layer gets a scope of its own, whose intermediates (scores, MLP activations) are freed
    /// before the next layer; the hidden states and the captured probabilities leave both scopes.
    /// </summary>
    protected LmOutput RunBlocks<TBlock>(
        IList<TBlock> blocks, Tensor x, LmInput input, RotaryAngles? rotary, nn.Module<Tensor, Tensor> finalNorm)
        where TBlock : DecoderBlock
    {
        var (rows, past, t) = ((int)x.shape[0], input.Cache.Length, x.shape[1]);
        // Resolved before any layer runs, so an intervention this runtime does not apply is refused with the cache untouched.
        var plan = StepPlan.Create(input.Interventions ?? [], input.Step, past, t, rows, Config, x.device);
        var mask = input.Mask ?? Attention.Causal(past, t, x.dtype, x.device);
        var captured = input.Capture == AttentionCapture.None ? null : new List<Tensor>();
        for (int i = 0; i < blocks.Count; i++)
        {
            // Each layer's mask (its blocked edges added) and attention edit live in the forward pass's scope.
            var layerMask = plan.MaskFor(i, mask, x.dtype, x.device);
            var edits = plan.EditsFor(i);
            using var layerScope = NewDisposeScope();
            var output = blocks[i].call(new BlockInput(x, input.Cache[i], layerMask, rotary, input.Capture, edits));
            x = plan.AfterBlock(i, output.Hidden).MoveToOuterDisposeScope();
            if (output.Probabilities is { } probs) captured!.Add(probs.MoveToOuterDisposeScope().MoveToOuterDisposeScope());
        }
        return new LmOutput(finalNorm.call(x).MoveToOuterDisposeScope(), captured, plan.Captured.Count > 0 ? plan.Captured : null);
    }

    /// <summary>Position ids [b, t] continuing from the cache.</summary>
    protected static Tensor DefaultPositions(LmInput input)
    {
        var (b, t) = (input.Embeds.shape[0], input.Embeds.shape[1]);
        var past = input.Cache.Length;
        return arange(past, past + t, dtype: ScalarType.Int64, device: input.Embeds.device).unsqueeze(0).expand(b, t);
    }
}

/// <summary>
/// Scaled dot-product attention computed explicitly so its probabilities can be returned (fused kernels do
/// not return them). Scores in the model dtype, softmax in float32 when asked
/// (HF eager: LLaMA upcasts the softmax, GPT-2 does not); probabilities are captured as float32.
/// </summary>
internal static class Attention
{
    public static (Tensor Output, Tensor? Probabilities) Compute(
        Tensor q, Tensor k, Tensor v, Tensor? mask, bool softmaxInFloat32, AttentionCapture capture, bool divideByRoot = false)
    {
        // q: [b, h, t, hd]; k, v: [b, h, T, hd]. HF's GPT-2 divides by √hd, its LLaMA multiplies by 1/√hd: the
        // same in fp32, one ulp apart in bf16, so each mirrors its reference.
        var root = Math.Sqrt(q.shape[^1]);
        var raw = q.matmul(k.transpose(-1, -2));
        var scores = divideByRoot ? raw.div(root) : raw.mul(1.0 / root); // [b, h, t, T]
        if (mask is not null) scores = scores.add(mask.to_type(scores.dtype));
        var probs = softmaxInFloat32
            ? nn.functional.softmax(scores.to_type(ScalarType.Float32), -1).to_type(q.dtype)
            : nn.functional.softmax(scores, -1);
        var output = probs.matmul(v); // [b, h, t, hd]
        Tensor? captured = capture switch
        {
            AttentionCapture.All => probs.to_type(ScalarType.Float32),
            // A copy, never a view: a view of the last row would keep the layer's whole [b, h, t, T] probabilities alive
            // until the batch ends (to_type returns the tensor itself when it is float32 already).
            AttentionCapture.LastRow => probs[.., .., TensorIndex.Slice(-1), ..].to_type(ScalarType.Float32).clone(),
            _ => null,
        };
        return (output, captured);
    }

    /// <summary>The causal additive mask [1, 1, t, past + t]: key j is visible to query i iff j ≤ past + i.</summary>
    public static Tensor? Causal(long past, long t, ScalarType dtype, Device device)
    {
        if (t == 1) return null;
        var total = past + t;
        var keys = arange(total, device: device).unsqueeze(0);
        var queries = arange(past, total, device: device).unsqueeze(1);
        var blocked = keys.gt(queries);
        return zeros(t, total, dtype: dtype, device: device).masked_fill(blocked, MinValue(dtype)).unsqueeze(0).unsqueeze(0);
    }

    /// <summary>The most negative finite value of a float type (HF's mask value).</summary>
    public static double MinValue(ScalarType dtype) => dtype switch
    {
        ScalarType.BFloat16 => -3.3895313892515355e38,
        ScalarType.Float16 => -65504.0,
        ScalarType.Float64 => double.MinValue,
        _ => float.MinValue,
    };
}

/// <summary>Per-layer keys and values of every position fed so far ([b, kv heads, T, head dim], after RoPE).</summary>
public sealed class KvCache(int layers) : IDisposable
{
    private readonly KvCacheEntry[] _layers = [.. Enumerable.Range(0, layers).Select(_ => new KvCacheEntry())];

    /// <summary>Positions held.</summary>
    public long Length => _layers[0].Length;

    /// <summary>The keys and values of one layer (owned by this cache).</summary>
    public KvCacheEntry this[int layer] => _layers[layer];

    /// <summary>Drops every position from <paramref name="length"/> on (e.g. a teacher-forced answer before decoding).</summary>
    public void Truncate(long length)
    {
        foreach (var entry in _layers) entry.Truncate(length);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var entry in _layers) entry.Clear();
    }
}

/// <summary>One layer's keys and values [b, kv heads, T, head dim] in a <see cref="KvCache"/>.</summary>
public sealed class KvCacheEntry
{
    private Tensor? _keys;
    private Tensor? _values;

    internal KvCacheEntry()
    {
    }

    /// <summary>Positions held.</summary>
    public long Length => _keys?.shape[2] ?? 0;

    /// <summary>The values held [b, kv heads, T, hd], or null when empty (owned by the cache: do not dispose).</summary>
    public Tensor? Values => _values;

    /// <summary>Appends the new keys and values [b, kv heads, t, hd] and returns all of them [b, kv heads, T, hd].</summary>
    /// <remarks>The returned tensors are the stored ones, outside every dispose scope: the cache owns and disposes them.</remarks>
    public (Tensor Keys, Tensor Values) Append(Tensor keys, Tensor values)
    {
        var k = _keys is { } pk ? cat([pk, keys], 2) : keys.alias();
        var v = _values is { } pv ? cat([pv, values], 2) : values.alias();
        _keys?.Dispose();
        _values?.Dispose();
        _keys = k.DetachFromDisposeScope();
        _values = v.DetachFromDisposeScope();
        return (k, v);
    }

    internal void Truncate(long length)
    {
        if (_keys is null || length >= Length) return;
        var k = _keys[.., .., TensorIndex.Slice(0, length), ..].contiguous().DetachFromDisposeScope();
        var v = _values![.., .., TensorIndex.Slice(0, length), ..].contiguous().DetachFromDisposeScope();
        Clear();
        (_keys, _values) = (k, v);
    }

    internal void Clear()
    {
        _keys?.Dispose();
        _values?.Dispose();
        (_keys, _values) = (null, null);
    }
}
