using System.Text.Json.Serialization;

namespace CodiLab.Analysis;

/// <summary>One problem's prompt before BOT as the extract stage tokenized it: ids, decoded texts and kinds (P0 first).</summary>
public sealed record PromptTokenRecord(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("gsm8k_id")] string Gsm8kId,
    [property: JsonPropertyName("ids")] IReadOnlyList<int> Ids,
    [property: JsonPropertyName("texts")] IReadOnlyList<string> Texts,
    [property: JsonPropertyName("kinds")] IReadOnlyList<string> Kinds);

/// <summary>
/// Per-token attention from BOT and each latent to the prompt: the mass on each <see cref="TokenKind"/> of one row and
/// its strongest question keys. A row here is one query's attention over every key it sees; its prompt part is keys
/// 0..Q−1 (P0, then the question), BOT sits at Q.
/// </summary>
public static class QuestionTokens
{
    /// <summary>Top question keys kept per (problem, layer, head, query).</summary>
    public const int TopK = 8;

    /// <summary>
    /// Mass of <paramref name="row"/> on each kind, in <see cref="TokenKinds.All"/> order; <paramref name="kinds"/> covers
    /// the prompt before BOT (the row's first kinds.Length keys).
    /// </summary>
    public static double[] KindMass(ReadOnlySpan<float> row, IReadOnlyList<TokenKind> kinds)
    {
        var mass = new double[TokenKinds.All.Length];
        for (int p = 0; p < kinds.Count; p++) mass[(int)kinds[p]] += row[p];
        return mass;
    }

    /// <summary>
    /// The <paramref name="k"/> question keys (1..q−1, P0 left out) with the largest weights, best first, ties by position;
    /// fewer when the question is shorter.
    /// </summary>
    public static (int Position, float Weight)[] TopKeys(ReadOnlySpan<float> row, int q, int k)
    {
        var keys = new (int Position, float Weight)[Math.Max(0, q - 1)];
        for (int p = 1; p < q; p++) keys[p - 1] = (p, row[p]);
        return [.. keys.OrderByDescending(x => x.Weight).ThenBy(x => x.Position).Take(k)];
    }
}
