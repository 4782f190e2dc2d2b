using System.Text.Json.Serialization;

namespace CodiLab.Analysis;

/// <summary>One problem's logit lens as the extract stage decoded it: per query (BOT, z1..zK) the top-k ids and texts.</summary>
public sealed record LensProblem(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("gsm8k_id")] string Gsm8kId,
    [property: JsonPropertyName("success")] bool Success,
    [property: JsonPropertyName("top_k_ids")] IReadOnlyList<IReadOnlyList<int>> Ids,
    [property: JsonPropertyName("top_k_texts")] IReadOnlyList<IReadOnlyList<string>> Texts,
    [property: JsonPropertyName("solution")] string Solution);

/// <summary><c>logit_lens_topk.json</c>: every problem's decoded logit lens and its gold solution text.</summary>
public sealed record LensRecords(
    [property: JsonPropertyName("k")] int K,
    [property: JsonPropertyName("queries")] IReadOnlyList<string> Queries,
    [property: JsonPropertyName("problems")] IReadOnlyList<LensProblem> Problems);

/// <summary>What a decoded lens token is compared with.</summary>
public enum LensTarget
{
    /// <summary>Any intermediate result c of the solution's annotations.</summary>
    AnyResult,

    /// <summary>The k-th annotation's result, for query z_k.</summary>
    StepResult,

    /// <summary>The final answer after ####.</summary>
    Final,

    /// <summary>Any number on the left of an annotation.</summary>
    Operand,
}

/// <summary>How often one query's lens hits one target: top-1 and any of top-k, each with its interval and chance rate.</summary>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record LensMatch(
    [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("problems")] int Problems,
    [property: JsonPropertyName("top1")] Interval Top1,
    [property: JsonPropertyName("top_k")] Interval TopK,
    [property: JsonPropertyName("top1_chance")] double Top1Chance,
    [property: JsonPropertyName("top_k_chance")] double TopKChance);

/// <summary>One query's logit-lens agreement with the gold solution.</summary>
public sealed record LensPosition(
    [property: JsonPropertyName("query")] string Query,
    [property: JsonPropertyName("top1_is_number")] Interval Top1IsNumber,
    [property: JsonPropertyName("matches")] IReadOnlyList<LensMatch> Matches);

/// <summary><c>logit_lens.json</c>: per query, the share of problems whose decoded lens tokens equal a gold intermediate value.</summary>
public sealed record LogitLensSummary(
    [property: JsonPropertyName("k")] int K,
    [property: JsonPropertyName("matching")] string Matching,
    [property: JsonPropertyName("chance")] string Chance,
    [property: JsonPropertyName("problems")] int Problems,
    [property: JsonPropertyName("problems_with_annotations")] int ProblemsWithAnnotations,
    [property: JsonPropertyName("bootstrap")] BootstrapSettings Bootstrap,
    [property: JsonPropertyName("positions")] IReadOnlyList<LensPosition> Positions)
{
    /// <summary>How a token matches (written into the file and the report).</summary>
    public const string MatchingRule =
        "a decoded token matches when, stripped of spaces (and a leading $ or thousands commas), it is a number equal to a target "
        + "value (24 = 24.0); a value the tokenizer splits into several tokens (LLaMA-3: more than three digits) cannot match";

    /// <summary>How the chance rate is defined.</summary>
    public const string ChanceRule =
        "the same match rate with every problem's lens tokens set against the gold values of other problems (all other "
        + "problems, or 300 of them when there are more): how often the lens would hit by the numbers GSM8K uses anyway";

    /// <summary>Most partner problems per problem for the chance rate.</summary>
    public const int ChancePartners = 300;

    /// <summary>The word a file and a report use for a target.</summary>
    public static string Word(LensTarget target) => target switch
    {
        LensTarget.AnyResult => "any intermediate result",
        LensTarget.StepResult => "step k's result (z_k)",
        LensTarget.Final => "final answer",
        _ => "any operand",
    };

    /// <summary>Compares every successful problem's decoded lens with its parsed gold solution.</summary>
    public static LogitLensSummary Build(LensRecords records)
    {
        var ok = records.Problems.Where(p => p.Success).ToList();
        var texts = ok.Select(p => p.Texts.Select(t => t.Select(GoldSolution.Normalize).ToArray()).ToArray()).ToArray();
        var gold = ok.Select(p => GoldSolution.Parse(p.Solution)).ToArray();
        var positions = records.Queries.Select((query, q) => new LensPosition(query,
            Analysis.Bootstrap.Mean([.. texts.Select(t => t[q].Length > 0 && t[q][0] is not null ? 1.0 : 0.0)]),
            [.. Enum.GetValues<LensTarget>().Where(t => q > 0 || t != LensTarget.StepResult)
                .Select(t => Match(t, q, texts, gold, records.K))])).ToList();
        return new LogitLensSummary(records.K, MatchingRule, ChanceRule, ok.Count, gold.Count(g => g.Steps.Count > 0),
            Analysis.Bootstrap.Settings(ok.Count), positions);
    }

    /// <summary>The values a target names for query index <paramref name="q"/> (0 = BOT, k = z_k), or null when the problem has none.</summary>
    public static IReadOnlySet<string>? Targets(LensTarget target, int q, GoldSolution gold) => target switch
    {
        LensTarget.AnyResult => gold.Steps.Count > 0 ? gold.Results.ToHashSet(StringComparer.Ordinal) : null,
        LensTarget.StepResult => q >= 1 && gold.Steps.Count >= q ? new HashSet<string>([gold.Results[q - 1]], StringComparer.Ordinal) : null,
        LensTarget.Final => gold.Final is { } f ? new HashSet<string>([f], StringComparer.Ordinal) : null,
        _ => gold.Steps.Count > 0 && gold.Operands.Count > 0 ? gold.Operands : null,
    };

    /// <summary>Whether any of the first <paramref name="top"/> normalised tokens is in <paramref name="values"/>.</summary>
    public static bool Hits(IReadOnlyList<string?> tokens, int top, IReadOnlySet<string> values) => FirstHit(tokens, top, values) >= 0;

    private static LensMatch Match(LensTarget target, int q, string?[][][] texts, GoldSolution[] gold, int k)
    {
        var eligible = Enumerable.Range(0, gold.Length).Where(i => Targets(target, q, gold[i]) is not null).ToArray();
        double Rate(int i, int top) => Hits(texts[i][q], top, Targets(target, q, gold[i])!) ? 1 : 0;
        var top1 = Analysis.Bootstrap.Mean([.. eligible.Select(i => Rate(i, 1))]);
        var topK = Analysis.Bootstrap.Mean([.. eligible.Select(i => Rate(i, k))]);
        var (chance1, chanceK) = ChanceRates(target, q, texts, gold, eligible, k);
        return new LensMatch(Word(target), eligible.Length, top1, topK, chance1, chanceK);
    }

    // Problem i's lens against the targets of other eligible problems, averaged over partners and then over problems, for the
    // top-1 token and the top k (one pass: a partner's values are hit within the top 1 when the first hit is the first token).
    private static (double Top1, double TopK) ChanceRates(LensTarget target, int q, string?[][][] texts, GoldSolution[] gold, int[] eligible,
        int k)
    {
        var m = eligible.Length;
        if (m < 2) return (double.NaN, double.NaN);
        var sets = eligible.Select(i => Targets(target, q, gold[i])!).ToArray();
        var partners = Math.Min(m - 1, ChancePartners);
        var (total1, totalK) = (0.0, 0.0);
        for (int e = 0; e < m; e++)
        {
            var (hits1, hitsK) = (0, 0);
            var tokens = texts[eligible[e]][q];
            for (int s = 1; s <= partners; s++)
            {
                var first = FirstHit(tokens, k, sets[(e + s) % m]);
                if (first == 0) hits1++;
                if (first >= 0) hitsK++;
            }
            (total1, totalK) = (total1 + (double)hits1 / partners, totalK + (double)hitsK / partners);
        }
        return (total1 / m, totalK / m);
    }

    // The index of the first of the first `top` tokens found in the values, or −1.
    private static int FirstHit(IReadOnlyList<string?> tokens, int top, IReadOnlySet<string> values)
    {
        for (int i = 0; i < Math.Min(top, tokens.Count); i++)
            if (tokens[i] is { } token && values.Contains(token)) return i;
        return -1;
    }
}
