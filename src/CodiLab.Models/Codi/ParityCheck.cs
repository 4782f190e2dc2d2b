namespace CodiLab.Models.Codi;

/// <summary>How close a retraced attention value must be to the reference's, and why that bound.</summary>
/// <param name="Attention">Largest allowed absolute difference of one attention probability.</param>
/// <param name="Reason">Why this bound (printed and kept with the report).</param>
public sealed record ParityTolerance(double Attention, string Reason)
{
    /// <summary>
    /// The bound of docs/model-folder.md#parity: ids must be equal, attention within 1e-4 absolute, because the two
    /// implementations sum in different orders (float32 rounding) and the reference stores 7 significant digits.
    /// </summary>
    public static ParityTolerance Default { get; } = new(1e-4,
        "absolute, per attention probability: float32 kernels sum in another order than PyTorch's "
        + "and the reference keeps 7 significant digits (docs/model-folder.md#parity)");
}

/// <summary>One reference question retraced and compared.</summary>
/// <param name="Index">Position in the reference file.</param>
/// <param name="Question">The question as encoded.</param>
/// <param name="InputIdsEqual">Prompt ids identical.</param>
/// <param name="LogitLensEqual">Logit-lens top-1 ids identical at BOT and every thought.</param>
/// <param name="AnswerIdsEqual">Greedy answer ids identical.</param>
/// <param name="WorstAttentionDifference">Largest absolute attention difference; null when the layouts differ.</param>
/// <param name="LayoutProblem">Why the attention could not be compared (queries, layers, heads or keys differ), else null.</param>
/// <param name="Passed">Ids equal and attention within the tolerance.</param>
public sealed record ParityRow(
    int Index, string Question, bool InputIdsEqual, bool LogitLensEqual, bool AnswerIdsEqual,
    double? WorstAttentionDifference, string? LayoutProblem, bool Passed);

/// <summary>Every reference question's comparison and the totals.</summary>
/// <param name="Rows">One row per reference question, in file order.</param>
/// <param name="Tolerance">The bound applied.</param>
public sealed record ParityReport(IReadOnlyList<ParityRow> Rows, ParityTolerance Tolerance)
{
    /// <summary>Questions compared.</summary>
    public int Count => Rows.Count;

    /// <summary>Questions that passed.</summary>
    public int PassedCount => Rows.Count(r => r.Passed);

    /// <summary>Questions that failed.</summary>
    public int Failures => Count - PassedCount;

    /// <summary>The largest attention difference over every comparable question (0 when none was).</summary>
    public double WorstAttentionDifference => Rows.Select(r => r.WorstAttentionDifference ?? 0).DefaultIfEmpty(0).Max();

    /// <summary>True when every question passed.</summary>
    public bool AllPassed => Failures == 0;
}

/// <summary>
/// Parity of a model folder against its reference traces (a <c>reference.json</c> of Hugging Face reference traces): each question is
/// retraced from the reference's own text and compared field by field (docs/model-folder.md#parity).
/// </summary>
public static class ParityCheck
{
    /// <summary>Retraces every reference question with the model; <paramref name="onRow"/> sees each row as it is done.</summary>
    public static ParityReport Run(
        CodiModel model, IReadOnlyList<TraceResult> references, ParityTolerance? tolerance = null, Action<ParityRow>? onRow = null)
    {
        tolerance ??= ParityTolerance.Default;
        var rows = new List<ParityRow>(references.Count);
        for (int i = 0; i < references.Count; i++)
        {
            var reference = references[i];
            // reference.json holds the question after the official normalisation: encode it as it is (normalising
            // again would change the 48 GSM8K train questions with runs of 3+ spaces).
            var trace = model.TraceIds(reference.Question, model.PromptIdsAsGiven(reference.Question), reference.AnswerIds.Count);
            var row = Compare(i, reference, trace, tolerance);
            rows.Add(row);
            onRow?.Invoke(row);
        }
        return new ParityReport(rows, tolerance);
    }

    /// <summary>Compares one retraced question with its reference.</summary>
    public static ParityRow Compare(int index, TraceResult reference, TraceResult trace, ParityTolerance tolerance)
    {
        var ids = reference.InputIds.SequenceEqual(trace.InputIds);
        var lens = reference.LogitLensTop1.SequenceEqual(trace.LogitLensTop1);
        var answer = reference.AnswerIds.SequenceEqual(trace.AnswerIds);
        double? worst;
        string? problem = null;
        try
        {
            worst = TraceComparison.WorstAttentionDifference(reference, trace);
        }
        catch (InvalidOperationException e)
        {
            // Different queries or row shapes (another number of thoughts, layers or heads): a failed
            // comparison of this question, not a crash of the whole check.
            (worst, problem) = (null, e.Message);
        }
        var passed = ids && lens && answer && worst is { } w && w <= tolerance.Attention;
        return new ParityRow(index, reference.Question, ids, lens, answer, worst, problem, passed);
    }
}
