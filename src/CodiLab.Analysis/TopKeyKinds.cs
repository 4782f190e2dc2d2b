using System.Text.Json.Serialization;

namespace CodiLab.Analysis;

/// <summary>A question token's text and how often it is a query's strongest question key.</summary>
public sealed record TokenCount(
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("share_of_cells")] double Share);

/// <summary>
/// The argmax view of one query's question reading: per kind, the share of (layer, head) cells whose strongest question
/// key is of that kind (per problem, with its interval) against the share of question tokens of that kind; and the
/// token texts most often strongest.
/// </summary>
public sealed record TopKeyKinds(
    [property: JsonPropertyName("query")] string Query,
    [property: JsonPropertyName("kinds")] IReadOnlyList<Scored> Kinds,
    [property: JsonPropertyName("frequent_tokens")] IReadOnlyList<TokenCount> Frequent)
{
    /// <summary>Most frequent strongest-key texts kept per query.</summary>
    public const int FrequentCount = 5;

    /// <summary>
    /// From the extract stage's top-key positions [N, L, H, R, k] (−1 = none; a failed problem has none) and each
    /// problem's prompt tokens.
    /// </summary>
    public static IReadOnlyList<TopKeyKinds> Build(
        float[] keys, int layers, int heads, int topK, IReadOnlyList<string> queries, IReadOnlyList<PromptTokenRecord> tokens)
    {
        var (n, r, cells) = (tokens.Count, queries.Count, layers * heads);
        if (keys.Length != (long)n * cells * r * topK)
            throw new ArgumentException($"{keys.Length} key values for {n} problems of [{layers}, {heads}, {r}, {topK}]", nameof(keys));
        return Build(Strongest([(0, n, keys)], n, cells * r, topK), layers, heads, queries, tokens);
    }

    /// <summary>
    /// The strongest key of each (problem, layer·head, query) row, [N, L·H, R], from the top-key array given in blocks of
    /// whole problems (each row's first of <paramref name="topK"/> entries), so the array need not be held whole.
    /// </summary>
    public static int[] Strongest(IEnumerable<(long First, int Count, float[] Values)> keys, int problems, int rowsPerProblem, int topK)
    {
        var best = new int[(long)problems * rowsPerProblem];
        foreach (var (first, count, values) in keys)
            for (long row = 0; row < (long)count * rowsPerProblem; row++) best[first * rowsPerProblem + row] = (int)values[row * topK];
        return best;
    }

    /// <summary>From the strongest key of each row, [N, L·H, R] (see <see cref="Strongest"/>), and each problem's prompt tokens.</summary>
    public static IReadOnlyList<TopKeyKinds> Build(
        int[] strongest, int layers, int heads, IReadOnlyList<string> queries, IReadOnlyList<PromptTokenRecord> tokens)
    {
        var (n, r, cells) = (tokens.Count, queries.Count, layers * heads);
        int Best(int i, int lh, int q) => strongest[((long)i * cells + lh) * r + q];
        var used = Enumerable.Range(0, n).Where(i => tokens[i].Ids.Count >= 2 && Best(i, 0, 0) >= 1).ToArray();
        var kinds = tokens.Select(t => t.Kinds.Select(TokenKinds.Parse).ToArray()).ToArray();
        double TokenShare(int i, TokenKind k) => (double)kinds[i].Skip(1).Count(x => x == k) / (kinds[i].Length - 1);
        return [.. queries.Select((name, q) =>
        {
            // One pass over the cells: per problem, how many cells each prompt position is strongest in, then per kind and
            // per (text, kind); a (text, kind) is ordered by its count, its text, then where it first appears.
            var byKind = TokenKinds.Question.Select(_ => new int[used.Length]).ToArray();
            var tally = new Dictionary<(string Text, string Kind), (int Count, int First)>();
            for (int u = 0; u < used.Length; u++)
            {
                var i = used[u];
                var hits = new int[kinds[i].Length];
                var order = new List<int>();
                for (int lh = 0; lh < cells; lh++)
                    if (Best(i, lh, q) is var p && hits[p]++ == 0) order.Add(p);
                foreach (var p in order)
                {
                    var at = Array.IndexOf(TokenKinds.Question, kinds[i][p]);
                    if (at >= 0) byKind[at][u] += hits[p];
                    var key = (tokens[i].Texts[p].Trim(), tokens[i].Kinds[p]);
                    tally[key] = tally.TryGetValue(key, out var seen) ? (seen.Count + hits[p], seen.First) : (hits[p], tally.Count);
                }
            }
            var scored = TokenKinds.Question.Select((k, at) => Scored.Of(k.Word(), $"share of cells whose strongest question key is {k.Word()}",
                [.. byKind[at].Select(c => (double)c / cells)], [.. used.Select(i => TokenShare(i, k))])).ToList();
            var total = (double)used.Length * cells;
            var frequent = tally.OrderByDescending(t => t.Value.Count).ThenBy(t => t.Key.Text, StringComparer.Ordinal)
                .ThenBy(t => t.Value.First).Take(FrequentCount).Select(t => new TokenCount(t.Key.Text, t.Key.Kind, t.Value.Count / total)).ToList();
            return new TopKeyKinds(name, scored, frequent);
        })];
    }
}
