using CodiLab.Models;
using CodiLab.Models.Codi;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Models;

/// <summary>
/// <see cref="ParityCheck"/> on the tiny GPT-2 fixture: the untouched reference passes row by row, and references altered
/// in one field each fail on exactly that field (answer ids, one attention value, a missing thought).
/// </summary>
public sealed class ParityCheckTests
{
    private static (CodiModel Model, IReadOnlyList<TraceResult> References) Fixture()
    {
        TorchRuntime.Initialize();
        var folder = TestPaths.Fixture("tiny-gpt2");
        var references = TraceJson.Read(Path.Combine(folder, "reference.json"));
        return (CodiModel.Load(folder, new CodiOptions(Load: new LoadOptions(CheckpointFile: "pytorch_model.bin"))), references);
    }

    [SharedFact]
    public void The_fixture_reference_passes_with_totals_from_its_rows()
    {
        var (model, references) = Fixture();
        using var _ = model;
        var seen = new List<int>();

        var report = ParityCheck.Run(model, references, onRow: row => seen.Add(row.Index));

        Assert.Equal(Enumerable.Range(0, references.Count), seen);
        Assert.Equal(references.Count, report.Count);
        Assert.True(report.AllPassed);
        Assert.Equal(0, report.Failures);
        Assert.All(report.Rows, r => Assert.True(r.InputIdsEqual && r.LogitLensEqual && r.AnswerIdsEqual && r.LayoutProblem is null));
        Assert.Equal(report.Rows.Max(r => r.WorstAttentionDifference!.Value), report.WorstAttentionDifference);
        Assert.InRange(report.WorstAttentionDifference, 0, ParityTolerance.Default.Attention);
        Assert.Equal(1e-4, report.Tolerance.Attention);
        Assert.Contains("docs/model-folder.md#parity", report.Tolerance.Reason, StringComparison.Ordinal);
    }

    [SharedFact]
    public void Each_altered_field_fails_its_own_question()
    {
        var (model, references) = Fixture();
        using var _ = model;
        var altered = references.ToList();
        altered[0] = altered[0] with { AnswerIds = [.. altered[0].AnswerIds.Select((id, i) => i == 0 ? id + 1 : id)] };
        altered[1] = altered[1] with { Attention = Shifted(altered[1].Attention, "z3", 2e-3f) };
        altered[2] = altered[2] with { Attention = altered[2].Attention.Where(kv => kv.Key != "z6").ToDictionary() };

        var report = ParityCheck.Run(model, altered);

        Assert.Equal(3, report.Failures);
        Assert.Equal(references.Count - 3, report.PassedCount);
        var (answer, attention, layout) = (report.Rows[0], report.Rows[1], report.Rows[2]);
        Assert.False(answer.Passed);
        Assert.Equal((true, true, false), (answer.InputIdsEqual, answer.LogitLensEqual, answer.AnswerIdsEqual));
        Assert.False(attention.Passed);
        Assert.True(attention.InputIdsEqual && attention.LogitLensEqual && attention.AnswerIdsEqual);
        // The shift minus the float rounding of the retrace (itself within 1e-4).
        Assert.InRange(attention.WorstAttentionDifference!.Value, 2e-3 - 1e-4, 2e-3 + 1e-4);
        Assert.Equal(attention.WorstAttentionDifference, report.WorstAttentionDifference);
        Assert.False(layout.Passed);
        Assert.Null(layout.WorstAttentionDifference);
        Assert.Contains("queries differ", layout.LayoutProblem, StringComparison.Ordinal);
        Assert.All(report.Rows.Skip(3), r => Assert.True(r.Passed));
    }

    // A copy with the first value of layer 0, head 0 of one query moved by delta.
    private static Dictionary<string, float[][][]> Shifted(IReadOnlyDictionary<string, float[][][]> attention, string query, float delta)
    {
        var copy = attention.ToDictionary(kv => kv.Key, kv => kv.Value.Select(l => l.Select(h => h.ToArray()).ToArray()).ToArray());
        copy[query][0][0][0] += delta;
        return copy;
    }
}
