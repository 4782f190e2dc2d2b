using CodiLab.Models.Architectures;

namespace CodiLab.Models.Interventions;

/// <summary>
/// A vector written in place of another (a latent input, a residual-stream site, a head slice): zeros, one vector
/// for every row (e.g. a dataset mean), or one per row (e.g. each row's donor; a null entry leaves that row alone).
/// </summary>
public abstract record Replacement
{
    /// <summary>Zeros.</summary>
    public static Replacement Zero { get; } = new ZeroVector();

    /// <summary>The same vector in every row.</summary>
    public static Replacement Shared(float[] value) => new SharedVector(value);

    /// <summary>One vector per row of the batch (null: that row keeps its own value).</summary>
    public static Replacement PerRow(IReadOnlyList<float[]?> values) => new RowVectors(values);

    /// <summary>Row <paramref name="row"/>'s vector of width <paramref name="width"/>; null when the row is left alone.</summary>
    public abstract float[]? For(int row, int width);

    /// <summary>The same replacement for a sub-batch made of the given rows (per-row values follow their rows).</summary>
    public virtual Replacement ForRows(IReadOnlyList<int> rows) => this;

    /// <summary>The values' width, or null for zeros; every per-row vector must share it.</summary>
    public abstract int? Width { get; }

    private sealed record ZeroVector : Replacement
    {
        public override float[]? For(int row, int width) => new float[width];

        public override int? Width => null;

        public override string ToString() => "zero";
    }

    private sealed record SharedVector(float[] Value) : Replacement
    {
        public override float[]? For(int row, int width) => Value;

        public override int? Width => Value.Length;

        public override string ToString() => "a shared vector";
    }

    private sealed record RowVectors(IReadOnlyList<float[]?> Values) : Replacement
    {
        public override float[]? For(int row, int width) => row < Values.Count ? Values[row] : null;

        public override Replacement ForRows(IReadOnlyList<int> rows) => new RowVectors([.. rows.Select(r => Values[r])]);

        public override int? Width => Values.FirstOrDefault(v => v is not null)?.Length;

        public override string ToString() => "per-row vectors";
    }
}

/// <summary>
/// Head ablation: head h's slice [hd·h, hd·(h+1)) of the input of the attention output projection (LLaMA
/// <c>o_proj</c>, GPT-2 <c>attn.c_proj</c>) is set to zero, or to <paramref name="Mean"/>, at every new position of
/// every pass in <paramref name="Scope"/>; the projection and its bias run as usual. (The LoRA delta is merged into
/// the weight at load, so its path sees the ablated input too.) A latent-only ablation leaves the prompt's cached
/// keys and values as the plain prompt pass wrote them.
/// </summary>
/// <param name="Layer">Layer (0-based).</param>
/// <param name="Head">Query head (0-based).</param>
/// <param name="Scope">The passes it covers.</param>
/// <param name="Mean">The replacement [hd] (e.g. from <see cref="HeadMeans"/>); null: zero.</param>
/// <param name="Source">How the mean was made, for the record (e.g. "mean over 50 reference prompts, latent scope").</param>
public sealed record HeadAblation(int Layer, int Head, Scope Scope = Scope.All, float[]? Mean = null, string? Source = null)
    : Intervention
{
    /// <summary>zero or mean.</summary>
    public string Mode => Mean is null ? "zero" : "mean";
}

/// <summary>Which half of a KV head <see cref="KvGroupAblation"/> zeroes.</summary>
public enum KvPart
{
    /// <summary>The keys: the group's query heads then score every key 0 and attend uniformly over the visible keys.</summary>
    Key,
    /// <summary>The values: the group's query heads then output zeros.</summary>
    Value,
}

/// <summary>
/// KV-group ablation (grouped-query attention): the keys or values of KV head <paramref name="Group"/> are zero
/// for every key that queries of passes in <paramref name="Scope"/> read (the cache itself keeps the true ones).
/// It hits every query head that reads the group: see <see cref="QueryHeads"/>.
/// </summary>
/// <param name="Layer">Layer (0-based).</param>
/// <param name="Group">KV head (0-based).</param>
/// <param name="Part">Keys or values.</param>
/// <param name="Scope">The passes it covers.</param>
public sealed record KvGroupAblation(int Layer, int Group, KvPart Part, Scope Scope = Scope.All) : Intervention
{
    /// <summary>The query heads reading KV head <see cref="Group"/>: g·n .. g·n + n − 1 with n = heads / KV heads.</summary>
    public IReadOnlyList<int> QueryHeads(ModelConfig config)
    {
        var n = config.Heads / config.KvHeads;
        return [.. Enumerable.Range(Group * n, n)];
    }
}

/// <summary>A query → key pair of labelled positions.</summary>
/// <param name="Query">The query's label (which pass it belongs to follows from it).</param>
/// <param name="Key">The key's label; it must come before the query (a query always keeps itself).</param>
public sealed record Edge(Position Query, Position Key)
{
    /// <summary>QUERY->KEY.</summary>
    public override string ToString() => $"{Query}->{Key}";
}

/// <summary>
/// Attention-edge blocking: the dtype's most negative finite value is put into the additive mask, before the
/// softmax and on top of the causal and padding masks, at every (query, key) cell named by <paramref name="Edges"/>,
/// in the given layers and heads (null: all). The softmax then renormalises over the remaining keys, so the
/// probabilities used (and captured) are exactly 0 at blocked cells and every row sums to 1. A query's own position
/// is never blocked, so no row is ever fully masked.
/// </summary>
/// <param name="Edges">The cells, by label (a <c>question</c> label covers every question token).</param>
/// <param name="Layers">Layers (0-based); null: every layer.</param>
/// <param name="Heads">Query heads (0-based); null: every head.</param>
public sealed record EdgeBlock(IReadOnlyList<Edge> Edges, IReadOnlyList<int>? Layers = null, IReadOnlyList<int>? Heads = null)
    : Intervention;

/// <summary>What happens to the thoughts after a replaced one.</summary>
public enum LaterLatents
{
    /// <summary>Computed by the model from the changed run (the default).</summary>
    Recompute,
    /// <summary>Fed the values they had in the same run without latent replacements (the "original" thoughts).</summary>
    HoldFixed,
}

/// <summary>
/// Latent ablation or patching: the vector fed at z_<paramref name="K"/> is replaced (zeros, a dataset mean, a
/// donor's z_k). GPT-2 still adds its position embedding to it. Applied by the CODI loop, not by the forward pass.
/// </summary>
/// <param name="K">Which thought (1-based).</param>
/// <param name="With">The replacement.</param>
/// <param name="Later">Whether later thoughts are recomputed or held at their original values.</param>
/// <param name="Source">How the replacement was made, for the record: zero, mean, donor, ….</param>
public sealed record LatentReplacement(int K, Replacement With, LaterLatents Later = LaterLatents.Recompute, string? Source = null)
    : Intervention;

/// <summary>
/// Residual patching: the residual stream at the output of block <paramref name="Layer"/> (after its attention and
/// MLP, what block Layer + 1 reads) at one labelled position is overwritten. Capture the donor's value at the same
/// site with <see cref="ResidualCapture"/>, so reading and writing can never name different sites.
/// </summary>
/// <param name="At">A single position (not <c>question</c>).</param>
/// <param name="Layer">Block (0-based).</param>
/// <param name="With">The values [d].</param>
/// <param name="Source">How the values were made, for the record.</param>
public sealed record ResidualPatch(Position At, int Layer, Replacement With, string? Source = null) : Intervention;

/// <summary>
/// Reads the residual stream at the output of block <paramref name="Layer"/> at one labelled position (the site
/// <see cref="ResidualPatch"/> writes); the values come back in <c>TraceResult.Residuals[Key]</c> (float32 [d]).
/// A probe: it changes nothing.
/// </summary>
/// <param name="At">A single position (not <c>question</c>).</param>
/// <param name="Layer">Block (0-based).</param>
public sealed record ResidualCapture(Position At, int Layer) : Intervention
{
    /// <summary>The key of the captured values: <c>{label}@{layer}</c>, e.g. <c>z3@2</c>.</summary>
    public string Key => $"{At}@{Layer}";
}
