using System.Text.Json;
using CodiLab.Analysis;
using CodiLab.Models.Codi;
using CodiLab.Models.Tokenizers;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Data;

namespace CodiLab.Pipeline.Extraction;

/// <summary>
/// The question-token and logit-lens rows of one trace (see <see cref="QuestionTokens"/> and <see cref="LogitLensSummary"/>
/// for what they mean), and the per-problem records decoded with the model's tokenizer. Like <see cref="TraceConventions"/>
/// it knows where BOT and the latents sit: the prompt before BOT is keys 0..Q−1, BOT is key Q.
/// </summary>
public static class QuestionTraces
{
    /// <summary>The files of <see cref="Arrays"/>, in order.</summary>
    public static readonly IReadOnlyList<string> Files =
        [Phase1Files.QuestionKindMass, Phase1Files.QuestionTopKeys, Phase1Files.QuestionTopWeights, Phase1Files.LensIds];

    /// <summary>
    /// The per-problem arrays of the question-token and logit-lens analyses, for the extraction driver beside
    /// <see cref="ExtractArrays.All"/>; the kind masses need the tokenizer (a token's kind is read from its decoded text).
    /// </summary>
    public static IReadOnlyList<ExtractArray> Arrays(CodiTokenizer tokenizer) =>
    [
        new("qkind", Phase1Files.QuestionKindMass, NpyDType.Float32, float.NaN,
            s => [s.Layers, s.Heads, s.Latents + 1, TokenKinds.All.Length],
            (t, s) => KindMass(t, Kinds(tokenizer, t.InputIds), s.Latents)),
        new("qtopkeys", Phase1Files.QuestionTopKeys, NpyDType.Float32, -1f,
            s => [s.Layers, s.Heads, s.Latents + 1, QuestionTokens.TopK], (t, s) => TopKeys(t, s.Latents, weights: false)),
        new("qtopweights", Phase1Files.QuestionTopWeights, NpyDType.Float32, float.NaN,
            s => [s.Layers, s.Heads, s.Latents + 1, QuestionTokens.TopK], (t, s) => TopKeys(t, s.Latents, weights: true)),
        new("lensids", Phase1Files.LensIds, NpyDType.Float32, float.NaN,
            s => [s.Latents + 1, CodiModel.LogitLensK], (t, s) => LensIds(t, s.Latents)),
    ];

    /// <summary>Query rows in the order of every array here: BOT, z1..zK.</summary>
    public static string[] Queries(int k) => Conventions.LatentRows(k);

    private static string RowName(int r) => r == 0 ? "bot" : $"z{r}";

    /// <summary>The kind of every prompt token before BOT, from its decoded text.</summary>
    public static TokenKind[] Kinds(CodiTokenizer tokenizer, IReadOnlyList<int> promptIds) =>
        TokenKinds.OfPrompt([.. promptIds.Take(promptIds.Count - 1).Select(tokenizer.TokenText)]);

    /// <summary>One problem's prompt before BOT: ids, decoded texts, kinds.</summary>
    public static PromptTokenRecord Tokens(int index, string gsm8kId, CodiTokenizer tokenizer, IReadOnlyList<int> promptIds)
    {
        int[] ids = [.. promptIds.Take(promptIds.Count - 1)];
        string[] texts = [.. ids.Select(tokenizer.TokenText)];
        return new PromptTokenRecord(index, gsm8kId, ids, texts, [.. TokenKinds.OfPrompt(texts).Select(k => k.Word())]);
    }

    /// <summary>Mass on each token kind, [L, H, K+1, 5] flattened (kinds in <see cref="TokenKinds.All"/> order).</summary>
    public static float[] KindMass(TraceResult trace, IReadOnlyList<TokenKind> kinds, int k)
    {
        var (l, h) = Shape(trace);
        var (rows, kc) = (k + 1, TokenKinds.All.Length);
        var result = new float[l * h * rows * kc];
        Array.Fill(result, float.NaN);
        for (int r = 0; r < rows; r++)
        {
            if (!trace.Attention.TryGetValue(RowName(r), out var layers)) continue;
            for (int li = 0; li < l; li++)
                for (int hi = 0; hi < h; hi++)
                {
                    var mass = QuestionTokens.KindMass(layers[li][hi], kinds);
                    for (int c = 0; c < kc; c++) result[((li * h + hi) * rows + r) * kc + c] = (float)mass[c];
                }
        }
        return result;
    }

    /// <summary>
    /// The <see cref="QuestionTokens.TopK"/> strongest question keys of every row, [L, H, K+1, TopK] flattened: their
    /// positions (P1.., as floats) or their weights; −1 (positions) or NaN (weights) where the question is shorter.
    /// </summary>
    public static float[] TopKeys(TraceResult trace, int k, bool weights)
    {
        var (l, h) = Shape(trace);
        var (rows, top, q) = (k + 1, QuestionTokens.TopK, trace.InputIds.Count - 1);
        var result = new float[l * h * rows * top];
        Array.Fill(result, weights ? float.NaN : -1f);
        for (int r = 0; r < rows; r++)
        {
            if (!trace.Attention.TryGetValue(RowName(r), out var layers)) continue;
            for (int li = 0; li < l; li++)
                for (int hi = 0; hi < h; hi++)
                {
                    var keys = QuestionTokens.TopKeys(layers[li][hi], q, top);
                    var at = ((li * h + hi) * rows + r) * top;
                    for (int j = 0; j < keys.Length; j++) result[at + j] = weights ? keys[j].Weight : keys[j].Position;
                }
        }
        return result;
    }

    /// <summary>The logit-lens top-k ids, [K+1, <see cref="CodiModel.LogitLensK"/>] as floats (exact below 2^24); NaN when absent.</summary>
    public static float[] LensIds(TraceResult trace, int k)
    {
        var result = new float[(k + 1) * CodiModel.LogitLensK];
        Array.Fill(result, float.NaN);
        var lens = trace.LogitLensTopK ?? [];
        for (int r = 0; r < Math.Min(k + 1, lens.Count); r++)
            for (int j = 0; j < Math.Min(CodiModel.LogitLensK, lens[r].Length); j++) result[r * CodiModel.LogitLensK + j] = lens[r][j];
        return result;
    }

    /// <summary>
    /// Every problem's decoded logit lens from the lens-id array [N, K+1, k] (NaN rows: a failed problem) and the gold
    /// solutions by GSM8K id.
    /// </summary>
    public static LensRecords Lens(
        IReadOnlyList<SampledProblem> problems, float[] ids, int k, CodiTokenizer tokenizer, IReadOnlyDictionary<string, string> solutions)
    {
        var (rows, top) = (k + 1, CodiModel.LogitLensK);
        var records = problems.Select((p, i) =>
        {
            var slice = ids.AsSpan(i * rows * top, rows * top).ToArray();
            var ok = slice.All(float.IsFinite);
            var perRow = ok ? Enumerable.Range(0, rows).Select(r => slice.Skip(r * top).Take(top).Select(x => (int)x).ToArray()).ToList() : [];
            return new LensProblem(i, p.Gsm8kId, ok, [.. perRow.Select(r => (IReadOnlyList<int>)r)],
                [.. perRow.Select(r => (IReadOnlyList<string>)[.. r.Select(tokenizer.TokenText)])],
                solutions.GetValueOrDefault(p.Gsm8kId, $"#### {p.Answer}"));
        }).ToList();
        return new LensRecords(top, Queries(k), records);
    }

    /// <summary>The worked solution of every problem in the sample stage's dataset JSON, by GSM8K id (empty when absent).</summary>
    public static IReadOnlyDictionary<string, string> Solutions(string datasetPath)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(datasetPath));
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in doc.RootElement.EnumerateArray())
            if (e.TryGetProperty("gsm8k_id", out var id) && e.TryGetProperty("full_solution", out var s) && s.ValueKind == JsonValueKind.String)
                result[id.GetString()!] = s.GetString()!;
        return result;
    }

    private static (int Layers, int Heads) Shape(TraceResult trace)
    {
        var bot = trace.Attention["bot"];
        return (bot.Length, bot[0].Length);
    }
}
