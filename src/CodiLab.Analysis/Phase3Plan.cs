using System.Globalization;
using System.Text.Json.Serialization;
using CodiLab.Specs;
using MathNet.Numerics.Random;

namespace CodiLab.Analysis;

/// <summary>One attention head (or, in a KV-group condition, one KV head of a layer).</summary>
public sealed record HeadRef([property: JsonPropertyName("layer")] int Layer, [property: JsonPropertyName("head")] int Head)
{
    /// <inheritdoc />
    public override string ToString() => $"L{Layer}H{Head}";
}

/// <summary>One blocked attention cell by labels: the query z_<see cref="Query"/> may not read <see cref="Key"/>.</summary>
/// <param name="Query">The latent step a of the query z_a (1-based).</param>
/// <param name="Key">P0, question (P1..P(Q−1)), BOT or z_b.</param>
public sealed record EdgeRef([property: JsonPropertyName("query")] int Query, [property: JsonPropertyName("key")] string Key)
{
    /// <inheritdoc />
    public override string ToString() => $"z{Query}->{Key}";
}

/// <summary>What a condition does to the run.</summary>
[JsonConverter(typeof(ConditionKindConverter))]
public enum ConditionKind
{
    /// <summary>Heads' slices of the o_proj input zeroed or mean-replaced.</summary>
    HeadAblation,
    /// <summary>LLaMA: a KV head's key and value ablated (every query head of its group is hit).</summary>
    KvAblation,
    /// <summary>Attention cells blocked before the softmax.</summary>
    EdgeBlock,
    /// <summary>The vector fed at one latent position replaced.</summary>
    LatentReplace,
    /// <summary>The residual stream at (layer, latent position) taken from a donor problem.</summary>
    ResidualPatch,
}

/// <summary>
/// One Phase 3 condition, fully resolved: which heads, edges or positions, how, and in which calls. Its canonical JSON is
/// what the condition's own cache key is built from, so changing one condition reruns that condition only.
/// </summary>
public sealed record Phase3Condition(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("family")] string Family,
    [property: JsonPropertyName("kind")] ConditionKind Kind,
    [property: JsonPropertyName("semantics")] string Semantics,
    [property: JsonPropertyName("heads")] IReadOnlyList<HeadRef> Heads,
    [property: JsonPropertyName("edges")] IReadOnlyList<EdgeRef> Edges,
    [property: JsonPropertyName("latent")] int? Latent = null,
    [property: JsonPropertyName("layer")] int? Layer = null,
    [property: JsonPropertyName("mode")] string? Mode = null,
    [property: JsonPropertyName("scope")] string? Scope = null,
    [property: JsonPropertyName("control_of")] string? ControlOf = null,
    [property: JsonPropertyName("k")] int? K = null);

/// <summary>The model's shape as Phase 3 needs it.</summary>
/// <param name="Layers">Transformer layers.</param>
/// <param name="Heads">Query heads per layer.</param>
/// <param name="KvHeads">KV heads per layer (LLaMA grouped-query attention; equal to <paramref name="Heads"/> on GPT-2).</param>
/// <param name="Latents">Continuous thoughts.</param>
/// <param name="Arch">The architecture.</param>
public sealed record Phase3Shape(int Layers, int Heads, int KvHeads, int Latents, Arch Arch);

/// <summary>
/// Builds the named conditions of a sweep from the spec's interventions section, the model's shape and a per-head metric
/// (Phase 2). Every random choice (controls, the donor pairing) is drawn from the spec's seed and the condition's name.
/// </summary>
public static class Phase3Plan
{
    /// <summary>The edge families the seed's claims name, in report order.</summary>
    public static readonly IReadOnlyList<string> EdgeFamilies = ["bot", "p0", "z1", "seq", "skip", "question"];

    /// <summary>Every condition of the sweep, in a fixed order; controls follow the condition they match.</summary>
    public static List<Phase3Condition> Build(
        InterventionsSection s, long seed, Phase3Shape shape, IReadOnlyDictionary<HeadRef, double> metric)
    {
        var list = new List<Phase3Condition>();
        var ranked = Rank(metric);
        foreach (var family in s.Families)
        {
            switch (family)
            {
                case InterventionFamily.TopHeads: list.AddRange(TopHeads(s, seed, shape, ranked)); break;
                case InterventionFamily.HeadScan: list.AddRange(HeadScan(s, ranked)); break;
                case InterventionFamily.Layers: list.AddRange(Layers(s, shape)); break;
                case InterventionFamily.Edges: list.AddRange(Edges(s, seed, shape)); break;
                case InterventionFamily.Latents: list.AddRange(Latents(s, shape)); break;
                case InterventionFamily.Patching: list.AddRange(Patching(shape, s.PatchLayers?.OrNull)); break;
                case InterventionFamily.KvGroups: list.AddRange(KvGroups(s, shape)); break;
            }
        }
        return list;
    }

    /// <summary>Heads by the metric, descending; ties in (layer, head) order; non-finite values last.</summary>
    public static List<HeadRef> Rank(IReadOnlyDictionary<HeadRef, double> metric) =>
        [.. metric.OrderByDescending(kv => double.IsFinite(kv.Value) ? kv.Value : double.NegativeInfinity)
            .ThenBy(kv => kv.Key.Layer).ThenBy(kv => kv.Key.Head).Select(kv => kv.Key)];

    /// <summary>
    /// The donor of each problem: a seeded derangement (problems shuffled, each takes the next one's run), so no problem
    /// is its own donor. Fewer than two problems have no donor (-1).
    /// </summary>
    public static int[] Donors(int problems, long seed)
    {
        var donors = Enumerable.Repeat(-1, problems).ToArray();
        if (problems < 2) return donors;
        var order = Enumerable.Range(0, problems).ToArray();
        Shuffle(order, Rng(seed, "donors"));
        for (int j = 0; j < problems; j++) donors[order[j]] = order[(j + 1) % problems];
        return donors;
    }

    private static IEnumerable<Phase3Condition> TopHeads(InterventionsSection s, long seed, Phase3Shape shape, List<HeadRef> ranked)
    {
        var total = shape.Layers * shape.Heads;
        foreach (var k in s.TopK.Select(k => Math.Min(k, total)).Distinct())
        {
            var name = $"top{k}-{s.HeadMetric}";
            var heads = ranked.Take(k).ToList();
            yield return HeadCondition(name, "top_heads", heads, s, null, k,
                $"the top {k} heads by {s.HeadMetric} ({List(heads)})");
            for (int c = 1; c <= s.Controls; c++)
            {
                var random = MatchedRandomHeads(heads, shape, Rng(seed, $"{name}#{c}"));
                yield return HeadCondition($"{name}-random{c}", "top_heads", random, s, name, k,
                    $"{k} random heads with the same count per layer as {name} ({List(random)}), control {c}");
            }
        }
    }

    private static IEnumerable<Phase3Condition> HeadScan(InterventionsSection s, List<HeadRef> ranked)
    {
        var n = Math.Min(s.HeadScan.OrNull ?? ranked.Count, ranked.Count);
        for (int j = 0; j < n; j++)
        {
            var head = ranked[n == 1 ? 0 : (int)Math.Round(j * (ranked.Count - 1) / (double)(n - 1))];
            yield return HeadCondition($"head-{head}", "head_scan", [head], s, null, null,
                $"the single head {head} (rank {ranked.IndexOf(head) + 1} of {ranked.Count} by {s.HeadMetric})");
        }
    }

    private static IEnumerable<Phase3Condition> Layers(InterventionsSection s, Phase3Shape shape)
    {
        for (int l = 0; l < shape.Layers; l++)
        {
            var heads = Enumerable.Range(0, shape.Heads).Select(h => new HeadRef(l, h)).ToList();
            yield return HeadCondition($"layer-L{l}", "layers", heads, s, null, null, $"every head of layer {l}");
        }
    }

    private static Phase3Condition HeadCondition(
        string name, string family, IReadOnlyList<HeadRef> heads, InterventionsSection s, string? controlOf, int? k, string what)
    {
        var how = s.Ablation == AblationMode.Zero ? "set to zero" : "replaced by its mean over the baseline run of the same problems";
        return new(name, family, ConditionKind.HeadAblation,
            $"Ablates {what}: each head's slice [d·h, d·(h+1)) of the o_proj (c_proj) input is {how}, before the projection "
            + $"(bias kept), in {ScopeWords(s.Scope)}.",
            heads, [], Mode: s.Ablation.Word(), Scope: s.Scope.Word(), ControlOf: controlOf, K: k);
    }

    private static IEnumerable<Phase3Condition> KvGroups(InterventionsSection s, Phase3Shape shape)
    {
        if (shape.Arch != Arch.Llama) yield break;
        var perGroup = shape.Heads / shape.KvHeads;
        for (int l = 0; l < shape.Layers; l++)
            for (int g = 0; g < shape.KvHeads; g++)
            {
                yield return new($"kv-L{l}G{g}", "kv_groups", ConditionKind.KvAblation,
                    $"Ablates KV head {g} of layer {l}: its values read as zero (keys kept), so query heads {g * perGroup}.."
                    + $"{(g + 1) * perGroup - 1} output zeros, in {ScopeWords(s.Scope)}.",
                    [new HeadRef(l, g)], [], Mode: "zero-values", Scope: s.Scope.Word());
            }
    }

    private static string ScopeWords(InterventionScope scope) => scope switch
    {
        InterventionScope.Latent => "the latent steps only (the passes feeding z1..zN; the prompt pass, BOT included, and the answer untouched)",
        InterventionScope.Answer => "the answer steps after EOT only",
        _ => "every call (prompt, latent steps and answer)",
    };

    /// <summary>The labelled cells of one edge family for K latents.</summary>
    public static List<EdgeRef> EdgeFamily(string family, int k)
    {
        var queries = Enumerable.Range(1, k);
        return family switch
        {
            "bot" => [.. queries.Select(a => new EdgeRef(a, "BOT"))],
            "p0" => [.. queries.Select(a => new EdgeRef(a, "P0"))],
            "question" => [.. queries.Select(a => new EdgeRef(a, "question"))],
            "z1" => [.. queries.Where(a => a >= 2).Select(a => new EdgeRef(a, "z1"))],
            "seq" => [.. queries.Where(a => a >= 2).Select(a => new EdgeRef(a, $"z{a - 1}"))],
            "skip" => [.. queries.SelectMany(a => Enumerable.Range(1, Math.Max(0, a - 2)).Select(b => new EdgeRef(a, $"z{b}")))],
            _ => throw new ArgumentException($"no edge family '{family}'"),
        };
    }

    private static readonly Dictionary<string, string> EdgeWords = new(StringComparer.Ordinal)
    {
        ["bot"] = "every latent z_a reading BOT",
        ["p0"] = "every latent z_a reading the first prompt position P0 (the sink test)",
        ["question"] = "every latent z_a reading the question (P1..P(Q−1))",
        ["z1"] = "every later latent z_a (a ≥ 2) reading z1 (the seed's 'hub')",
        ["seq"] = "every latent z_a reading its predecessor z_(a−1) (true sequential flow)",
        ["skip"] = "every latent z_a reading z_(a−k), k ≥ 2 (skip connections)",
    };

    private static IEnumerable<Phase3Condition> Edges(InterventionsSection s, long seed, Phase3Shape shape)
    {
        const string How = "in every layer and head, at the latent steps only: the most negative finite value is added to those cells "
            + "of the additive mask before the softmax (on top of the causal mask; a query always keeps itself)";
        foreach (var family in EdgeFamilies)
        {
            var cells = EdgeFamily(family, shape.Latents);
            if (cells.Count == 0) continue;
            var name = $"edge-{family}";
            yield return new(name, "edges", ConditionKind.EdgeBlock, $"Blocks {EdgeWords[family]} ({cells.Count} cells), {How}.",
                [], cells, Scope: "latent");
            var pool = AllCells(shape.Latents).Except(cells).ToList();
            for (int c = 1; c <= s.Controls; c++)
            {
                var random = pool.ToArray();
                Shuffle(random, Rng(seed, $"{name}#{c}"));
                var drawn = random.Take(Math.Min(cells.Count, random.Length)).OrderBy(e => e.Query).ThenBy(e => e.Key, StringComparer.Ordinal)
                    .ToList();
                yield return new($"{name}-random{c}", "edges", ConditionKind.EdgeBlock,
                    $"Blocks {drawn.Count} random latent-step cells outside {name} ({string.Join(", ", drawn)}), {How}; control {c}.",
                    [], drawn, Scope: "latent", ControlOf: name);
            }
        }
    }

    /// <summary>Every labelled cell a latent query can read besides itself: P0, question, BOT and earlier latents.</summary>
    public static IEnumerable<EdgeRef> AllCells(int k) =>
        Enumerable.Range(1, k).SelectMany(a => new[] { "P0", "question", "BOT" }.Concat(Enumerable.Range(1, a - 1).Select(b => $"z{b}"))
            .Select(key => new EdgeRef(a, key)));

    private static IEnumerable<Phase3Condition> Latents(InterventionsSection s, Phase3Shape shape)
    {
        var later = s.LaterLatents == LaterLatents.Recompute ? "later latents are recomputed by the loop" : "later latents are held at "
            + "their baseline values";
        foreach (var mode in s.Replacements)
            for (int k = 1; k <= shape.Latents; k++)
            {
                var by = mode switch
                {
                    LatentReplacement.Zero => "a zero vector",
                    LatentReplacement.Mean => $"the mean of z{k} over the baseline run of the same problems",
                    _ => $"z{k} of the donor problem (a seeded derangement of the problems)",
                };
                yield return new($"latent-z{k}-{mode.Word()}", "latents", ConditionKind.LatentReplace,
                    $"Replaces the vector fed at z{k} by {by}; {later}; the question, BOT and EOT are unchanged.",
                    [], [], Latent: k, Mode: mode.Word() + "/" + s.LaterLatents.Word());
            }
    }

    /// <summary>n layers evenly spaced over [0, L−1], first and last included (all of them when n is null or at least L).</summary>
    public static IReadOnlyList<int> SpreadLayers(int layers, int? n) =>
        n is not { } count || count >= layers ? [.. Enumerable.Range(0, layers)]
            : count == 1 ? [0] : [.. Enumerable.Range(0, count).Select(j => (int)Math.Round(j * (layers - 1) / (double)(count - 1))).Distinct()];

    private static IEnumerable<Phase3Condition> Patching(Phase3Shape shape, int? layers)
    {
        foreach (var l in SpreadLayers(shape.Layers, layers))
            for (int k = 1; k <= shape.Latents; k++)
                yield return new($"patch-L{l}-z{k}", "patching", ConditionKind.ResidualPatch,
                    $"Writes the donor problem's residual stream at the output of layer {l}, position z{k}, into the run at the same "
                    + "site (read and written at one layer and hook point); everything after it is recomputed.",
                    [], [], Latent: k, Layer: l, Mode: "donor");
    }

    private static List<HeadRef> MatchedRandomHeads(IReadOnlyList<HeadRef> chosen, Phase3Shape shape, System.Random rng)
    {
        var result = new List<HeadRef>();
        foreach (var layer in chosen.GroupBy(h => h.Layer).OrderBy(g => g.Key))
        {
            var others = Enumerable.Range(0, shape.Heads).Select(h => new HeadRef(layer.Key, h)).Except(layer).ToArray();
            var all = Enumerable.Range(0, shape.Heads).Select(h => new HeadRef(layer.Key, h)).ToArray();
            // Prefer heads outside the chosen set; a layer whose every head is chosen can only repeat the layer.
            var pool = others.Length >= layer.Count() ? others : all;
            Shuffle(pool, rng);
            result.AddRange(pool.Take(layer.Count()));
        }
        return [.. result.OrderBy(h => h.Layer).ThenBy(h => h.Head)];
    }

    private static System.Random Rng(long seed, string what)
    {
        var h = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
            seed.ToString(CultureInfo.InvariantCulture) + "/" + what));
        return new MersenneTwister(BitConverter.ToInt32(h, 0));
    }

    private static void Shuffle<T>(T[] items, System.Random rng)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static string List(IEnumerable<HeadRef> heads) => string.Join(", ", heads);
}
