using CodiLab.Models.Architectures;
using static TorchSharp.torch;

namespace CodiLab.Models.Interventions;

/// <summary>
/// One forward pass's interventions resolved against its step: which apply (scope), each layer's additive mask with
/// the blocked edges, each layer's <see cref="AttentionEdit"/>, and the residual sites to write or read after each
/// block. Kinds the forward pass does not apply are refused here, before any layer runs.
/// </summary>
internal sealed class StepPlan
{
    private readonly StepInfo? _step;
    private readonly long _past;
    private readonly long _t;
    private readonly int _rows;
    private readonly int _heads;
    private readonly List<HeadAblation> _headAblations = [];
    private readonly List<KvGroupAblation> _groups = [];
    private readonly List<(EdgeBlock Block, List<(int Row, int Query, int Key)> Cells)> _edges = [];
    private readonly List<ResidualPatch> _patches = [];
    private readonly List<ResidualCapture> _captures = [];
    private readonly Dictionary<string, Tensor?> _masks = new(StringComparer.Ordinal);
    private HeadInputRecorder? _recorder;
    private Tensor? _recordWeights;

    private StepPlan(StepInfo? step, long past, long t, int rows, int heads) =>
        (_step, _past, _t, _rows, _heads) = (step, past, t, rows, heads);

    /// <summary>Values read by <see cref="ResidualCapture"/> probes: key → per row [d] (float32).</summary>
    public Dictionary<string, float[][]> Captured { get; } = new(StringComparer.Ordinal);

    /// <summary>True when nothing applies in this pass (the plain model).</summary>
    public bool IsEmpty => _headAblations.Count == 0 && _groups.Count == 0 && _edges.Count == 0 && _patches.Count == 0
        && _captures.Count == 0 && _recorder is null;

    public static StepPlan Create(IReadOnlyList<Intervention> interventions, StepInfo? step, long past, long t, int rows, ModelConfig config)
    {
        var plan = new StepPlan(step, past, t, rows, config.Heads);
        foreach (var intervention in interventions)
            plan.Add(intervention);
        return plan;
    }

    private void Add(Intervention intervention)
    {
        switch (intervention)
        {
            case HeadAblation h when InScope(h.Scope):
                _headAblations.Add(h);
                break;
            case KvGroupAblation g when InScope(g.Scope):
                _groups.Add(g);
                break;
            case HeadAblation or KvGroupAblation:
                break;
            case EdgeBlock e:
                var cells = Cells(e);
                if (cells.Count > 0) _edges.Add((e, cells));
                break;
            case ResidualPatch p:
                if (Labelled(p).Kind == PositionKind.Question)
                    throw new ArgumentException("a residual patch names one position; 'question' is a range", nameof(intervention));
                _patches.Add(p);
                break;
            case ResidualCapture c:
                if (Labelled(c).Kind == PositionKind.Question)
                    throw new ArgumentException("a residual capture names one position; 'question' is a range", nameof(intervention));
                if (!_step!.TeacherForced) _captures.Add(c);
                break;
            case HeadInputRecorder r when InScope(r.Scope) && _step is { TeacherForced: false }:
                _recorder = r;
                _recordWeights = RecordWeights(_step);
                break;
            case HeadInputRecorder:
                break;
            case LatentReplacement:
                throw new NotSupportedException($"intervention {nameof(LatentReplacement)} changes what the CODI loop feeds, so a forward "
                    + "pass cannot apply it; give it to CodiModel.TraceBatch (which replaces the thought before feeding it)");
            default:
                throw new NotSupportedException($"intervention {intervention.GetType().Name} is not implemented by this runtime; "
                    + "a forward pass with a kind it does not know is refused rather than run as the plain model");
        }
    }

    // A pass without step information (a bare language-model call) counts only as part of an all-scope intervention.
    private bool InScope(Scope scope) => _step is null ? scope == Scope.All : (scope & _step.Scope) != 0;

    private Position Labelled(Intervention intervention)
    {
        if (_step is null)
            throw new ArgumentException($"{intervention.GetType().Name} names labelled positions, so the forward pass needs a StepInfo "
                + "(the CODI loop gives one)", nameof(intervention));
        return intervention switch { ResidualPatch p => p.At, ResidualCapture c => c.At, _ => Position.Bot };
    }

    // The (row, query index within this pass, key slot) cells of an edge block that fall in this pass; the diagonal and
    // keys after the query (already causal-masked) are left out.
    private List<(int Row, int Query, int Key)> Cells(EdgeBlock block)
    {
        Labelled(block);
        var layout = _step!.Layout;
        var cells = new List<(int, int, int)>();
        foreach (var edge in block.Edges)
            for (int row = 0; row < _rows; row++)
                foreach (var query in layout.Slots(edge.Query, row).Where(q => q >= _past && q < _past + _t))
                    foreach (var key in layout.Slots(edge.Key, row).Where(k => k < query))
                        cells.Add((row, (int)(query - _past), key));
        return cells;
    }

    private Tensor RecordWeights(StepInfo step)
    {
        var weights = new float[_rows * _t];
        for (int row = 0; row < _rows; row++)
            for (long i = 0; i < _t; i++)
            {
                var slot = _past + i;
                var counted = step.Kind switch
                {
                    StepKind.Prompt => slot >= step.Layout.Offsets[row],
                    StepKind.Answer => step.Active is null || step.Active[row],
                    _ => true,
                };
                weights[row * _t + i] = counted ? 1 : 0;
            }
        return tensor(weights, [_rows, _t]);
    }

    /// <summary>
    /// The additive mask of layer <paramref name="layer"/>: the pass's mask ([b or 1, 1, t, T], or null for "all
    /// visible"), with the dtype's most negative finite value written at the layer's blocked cells; [b, 1 or H, t, T].
    /// </summary>
    public Tensor? MaskFor(int layer, Tensor? mask, ScalarType dtype, Device device)
    {
        var blocks = Enumerable.Range(0, _edges.Count).Where(i => _edges[i].Block.Layers is not { } ls || ls.Contains(layer)).ToArray();
        if (blocks.Length == 0) return mask;
        var key = string.Join(',', blocks);
        if (_masks.TryGetValue(key, out var cached)) return cached;
        var perHead = blocks.Any(i => _edges[i].Block.Heads is not null);
        var (h, total) = (perHead ? _heads : 1, _past + _t);
        var blocked = new bool[_rows * h * _t * total];
        foreach (var i in blocks)
        {
            var heads = _edges[i].Block.Heads ?? (perHead ? [.. Enumerable.Range(0, _heads)] : [0]);
            foreach (var (row, query, k) in _edges[i].Cells)
                foreach (var head in heads)
                    blocked[((row * h + head) * _t + query) * total + k] = true;
        }
        using var cells = tensor(blocked, [_rows, h, _t, total], device: device);
        var basis = mask ?? zeros([1, 1, _t, total], dtype: dtype, device: device);
        var result = basis.expand(_rows, h, _t, total).masked_fill(cells, Attention.MinValue(basis.dtype));
        _masks[key] = result;
        return result;
    }

    /// <summary>The interventions layer <paramref name="layer"/>'s attention applies: its <see cref="AttentionEdit"/>, or none.</summary>
    public IReadOnlyList<Intervention> EditsFor(int layer)
    {
        var heads = _headAblations.Where(a => a.Layer == layer).ToList();
        var groups = _groups.Where(g => g.Layer == layer).ToList();
        if (heads.Count == 0 && groups.Count == 0 && _recorder is null) return [];
        return [new AttentionEdit(heads, groups, _recorder, _recordWeights)];
    }

    /// <summary>Writes this layer's residual patches into the block output [b, t, d] and reads its captures.</summary>
    public Tensor AfterBlock(int layer, Tensor hidden)
    {
        var patches = _patches.Where(p => p.Layer == layer).ToList();
        if (patches.Count > 0) hidden = hidden.clone();
        var d = (int)hidden.shape[2];
        foreach (var patch in patches)
            for (int row = 0; row < _rows; row++)
            {
                var slot = _step!.Layout.Slot(patch.At, row);
                if (slot < _past || slot >= _past + _t || patch.With.For(row, d) is not { } value) continue;
                using var v = tensor(value, dtype: hidden.dtype, device: hidden.device);
                hidden.index_put_(v, TensorIndex.Single(row), TensorIndex.Single(slot - _past));
            }
        foreach (var capture in _captures.Where(c => c.Layer == layer))
        {
            var rows = new float[_rows][];
            for (int row = 0; row < _rows; row++)
            {
                var slot = _step!.Layout.Slot(capture.At, row);
                if (slot < _past || slot >= _past + _t) continue;
                using var v = hidden[row, slot - _past].to_type(ScalarType.Float32).cpu();
                rows[row] = v.data<float>().ToArray();
            }
            if (rows.Any(r => r is not null)) Captured[capture.Key] = rows;
        }
        return hidden;
    }
}
