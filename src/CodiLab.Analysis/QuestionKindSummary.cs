using System.Text.Json.Serialization;

namespace CodiLab.Analysis;

/// <summary>One layer of a query's question-token breakdown (means over problems and heads; no interval, see the summary).</summary>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record QuestionKindLayer(
    [property: JsonPropertyName("layer")] int Layer,
    [property: JsonPropertyName("p0")] double P0,
    [property: JsonPropertyName("question")] double Question,
    [property: JsonPropertyName("share_of_question")] IReadOnlyDictionary<string, double> Shares);

/// <summary>
/// What one query (BOT or z_k) reads in the prompt: P0's share of the whole row and the question's, each against uniform
/// causal rows; the share of the question's mass on each kind, against the share of question tokens of that kind; and
/// the same per layer.
/// </summary>
public sealed record QuestionKindQuery(
    [property: JsonPropertyName("query")] string Query,
    [property: JsonPropertyName("p0")] Scored P0,
    [property: JsonPropertyName("question")] Scored Question,
    [property: JsonPropertyName("kinds")] IReadOnlyList<Scored> Kinds,
    [property: JsonPropertyName("by_layer")] IReadOnlyList<QuestionKindLayer> ByLayer);

/// <summary><c>question_kinds.json</c>: which kinds of question token each query reads, over the successful problems.</summary>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record QuestionKindSummary(
    [property: JsonPropertyName("definition")] string Definition,
    [property: JsonPropertyName("problems")] int Problems,
    [property: JsonPropertyName("bootstrap")] BootstrapSettings Bootstrap,
    [property: JsonPropertyName("token_share")] IReadOnlyDictionary<string, double> TokenShare,
    [property: JsonPropertyName("queries")] IReadOnlyList<QuestionKindQuery> Queries,
    [property: JsonPropertyName("strongest_key")] IReadOnlyList<TopKeyKinds>? StrongestKey = null)
{
    /// <summary>How the numbers are defined (written into the file and the report).</summary>
    public const string Meaning =
        "P0 and question: head-mean attention mass of the query's row (mean over layers and heads, then over problems), against "
        + "uniform causal rows (1/T per visible key). Kind shares: per problem, the mass on question tokens of that kind summed "
        + "over layers and heads, divided by the mass on all question tokens (P0 excluded); the uniform expectation is the "
        + "share of question tokens of that kind in the problem's prompt.";

    /// <summary>
    /// Summarises the extract stage's mass array [N, L, H, R, 5] (kinds in <see cref="TokenKinds.All"/> order; NaN for a
    /// failed problem) with each problem's prompt kinds (P0 first, BOT excluded); <paramref name="queries"/> names the R rows.
    /// </summary>
    public static QuestionKindSummary Build(
        float[] mass, int layers, int heads, IReadOnlyList<string> queries, IReadOnlyList<IReadOnlyList<TokenKind>> kinds)
    {
        var (n, r, kc) = (kinds.Count, queries.Count, TokenKinds.All.Length);
        if (mass.Length != (long)n * layers * heads * r * kc)
            throw new ArgumentException($"{mass.Length} mass values for {n} problems of [{layers}, {heads}, {r}, {kc}]", nameof(mass));
        return Build([(0, n, mass)], layers, heads, queries, kinds);
    }

    /// <summary>The same, from the mass array given in blocks of whole problems, in order (never held whole).</summary>
    public static QuestionKindSummary Build(IEnumerable<(long First, int Count, float[] Values)> mass, int layers, int heads,
        IReadOnlyList<string> queries, IReadOnlyList<IReadOnlyList<TokenKind>> kinds)
    {
        var (n, r, kc) = (kinds.Count, queries.Count, TokenKinds.All.Length);
        // Per problem, query, layer and kind: the mass summed over heads.
        var sums = new double[n, r, layers, kc];
        foreach (var (first, count, values) in mass)
            for (int b = 0; b < count; b++)
            {
                var i = checked((int)(first + b));
                for (int l = 0; l < layers; l++)
                    for (int h = 0; h < heads; h++)
                        for (int q = 0; q < r; q++)
                            for (int k = 0; k < kc; k++)
                                sums[i, q, l, k] += values[((((long)b * layers + l) * heads + h) * r + q) * kc + k];
            }
        var used = Enumerable.Range(0, n).Where(i => kinds[i].Count >= 2 && !double.IsNaN(sums[i, 0, 0, 0])).ToArray();
        var tokenShare = TokenKinds.Question.ToDictionary(k => k.Word(), k => used.Length == 0 ? double.NaN
            : used.Average(i => Share(kinds[i], k)));
        var rows = queries.Select((name, q) => Query(name, q, sums, used, kinds, layers, heads)).ToList();
        return new QuestionKindSummary(Meaning, used.Length, Analysis.Bootstrap.Settings(used.Length), tokenShare, rows);
    }

    // Share of question tokens (positions 1..Q−1) of a kind.
    private static double Share(IReadOnlyList<TokenKind> kinds, TokenKind kind) =>
        (double)kinds.Skip(1).Count(x => x == kind) / (kinds.Count - 1);

    private static QuestionKindQuery Query(
        string name, int q, double[,,,] sums, int[] used, IReadOnlyList<IReadOnlyList<TokenKind>> kinds, int layers, int heads)
    {
        // Each problem's mass per kind over every layer, and the question's mass per layer and overall, added in the order
        // (layers, then kinds) the definition states.
        var kc = TokenKinds.All.Length;
        var (overall, questionByLayer, questionTotal) = (new double[sums.GetLength(0), kc], new double[sums.GetLength(0), layers],
            new double[sums.GetLength(0)]);
        foreach (var i in used)
        {
            for (int k = 0; k < kc; k++)
                for (int l = 0; l < layers; l++) overall[i, k] += sums[i, q, l, k];
            for (int l = 0; l < layers; l++)
                foreach (var k in TokenKinds.Question) questionByLayer[i, l] += sums[i, q, l, (int)k];
            foreach (var k in TokenKinds.Question) questionTotal[i] += overall[i, (int)k];
        }
        double Sum(int i, int k, int? layer = null) => layer is { } l ? sums[i, q, l, k] : overall[i, k];
        double QuestionSum(int i, int? layer = null) => layer is { } l ? questionByLayer[i, l] : questionTotal[i];
        var cells = (double)layers * heads;
        // Visible keys of query q: the prompt before BOT, BOT, and z1..z_q.
        double Keys(int i) => kinds[i].Count + 1 + q;
        var p0 = Scored.Of("P0", "first position (BOS on LLaMA, first question token on GPT-2)",
            [.. used.Select(i => Sum(i, 0) / cells)], [.. used.Select(i => 1 / Keys(i))]);
        var question = Scored.Of("question", "every prompt token after P0, before BOT",
            [.. used.Select(i => QuestionSum(i) / cells)], [.. used.Select(i => (kinds[i].Count - 1) / Keys(i))]);
        var byKind = TokenKinds.Question.Select(k => Scored.Of(k.Word(), $"share of the question's mass on {k.Word()} tokens",
            [.. used.Select(i => Sum(i, (int)k) / QuestionSum(i))], [.. used.Select(i => Share(kinds[i], k))])).ToList();
        var byLayer = Enumerable.Range(0, layers).Select(l => new QuestionKindLayer(l,
            Mean(used, i => Sum(i, 0, l) / heads), Mean(used, i => QuestionSum(i, l) / heads),
            TokenKinds.Question.ToDictionary(k => k.Word(), k => Mean(used, i => Sum(i, (int)k, l) / QuestionSum(i, l))))).ToList();
        return new QuestionKindQuery(name, p0, question, byKind, byLayer);
    }

    private static double Mean(int[] used, Func<int, double> value)
    {
        double[] v = [.. used.Select(value).Where(double.IsFinite)];
        return v.Length == 0 ? double.NaN : v.Average();
    }
}
