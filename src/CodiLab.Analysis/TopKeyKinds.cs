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
        int Best(int i, int lh, int q) => (int)keys[(((long)i * cells + lh) * r + q) * topK];
        var used = Enumerable.Range(0, n).Where(i => tokens[i].Ids.Count >= 2 && Best(i, 0, 0) >= 1).ToArray();
        var kinds = tokens.Select(t => t.Kinds.Select(TokenKinds.Parse).ToArray()).ToArray();
        double TokenShare(int i, TokenKind k) => (double)kinds[i].Skip(1).Count(x => x == k) / (kinds[i].Length - 1);
        return [.. queries.Select((name, q) =>
        {
            var scored = TokenKinds.Question.Select(k => Scored.Of(k.Word(), $"share of cells whose strongest question key is {k.Word()}",
                [.. used.Select(i => (double)Enumerable.Range(0, cells).Count(lh => kinds[i][Best(i, lh, q)] == k) / cells)],
                [.. used.Select(i => TokenShare(i, k))])).ToList();
            var total = (double)used.Length * cells;
            var frequent = used.SelectMany(i => Enumerable.Range(0, cells).Select(lh => Best(i, lh, q))
                    .Select(p => (Text: tokens[i].Texts[p].Trim(), Kind: tokens[i].Kinds[p])))
                .GroupBy(x => x).OrderByDescending(g => g.Count()).ThenBy(g => g.Key.Text, StringComparer.Ordinal)
                .Take(FrequentCount).Select(g => new TokenCount(g.Key.Text, g.Key.Kind, g.Count() / total)).ToList();
            return new TopKeyKinds(name, scored, frequent);
        })];
    }
}
