using System.Globalization;

namespace CodiLab.Models.Interventions;

/// <summary>The kinds of labelled positions of a CODI sequence: [P0] question… BOT z1…zN EOT A1 A2 ….</summary>
public enum PositionKind
{
    /// <summary>Prompt token i (0-based, before BOT): P0 is LLaMA's BOS, GPT-2's first question token.</summary>
    Prompt,
    /// <summary>Every prompt token after P0 and before BOT (a range: one or more positions per row).</summary>
    Question,
    /// <summary>The BOT token, the last prompt position.</summary>
    Bot,
    /// <summary>The position where continuous thought z_k is fed (k ≥ 1).</summary>
    Latent,
    /// <summary>The EOT token fed after the last thought.</summary>
    Eot,
    /// <summary>The position where answer token n (n ≥ 1) is fed, i.e. the n-th token emitted after EOT.</summary>
    Answer,
}

/// <summary>
/// A labelled position, the same for every row of a batch whatever its padding: <c>P{i}</c>, <c>question</c>, <c>BOT</c>,
/// <c>z{k}</c>, <c>EOT</c>, <c>A{n}</c>. A row's label is named after the input fed at that position (the query row
/// <c>z3</c> is where z3 was fed; its output becomes z4).
/// </summary>
/// <param name="Kind">Which kind of position.</param>
/// <param name="Index">Prompt i (0-based), latent k (1-based) or answer n (1-based); 0 for the others.</param>
public sealed record Position(PositionKind Kind, int Index = 0)
{
    /// <summary>The first prompt token.</summary>
    public static Position P0 { get; } = new(PositionKind.Prompt, 0);

    /// <summary>Every question token after P0 and before BOT.</summary>
    public static Position Question { get; } = new(PositionKind.Question);

    /// <summary>The BOT token.</summary>
    public static Position Bot { get; } = new(PositionKind.Bot);

    /// <summary>The EOT token.</summary>
    public static Position Eot { get; } = new(PositionKind.Eot);

    /// <summary>Prompt token <paramref name="index"/> (0-based; must come before BOT in every row).</summary>
    public static Position Prompt(int index) => new(PositionKind.Prompt, index);

    /// <summary>Where z_k is fed (k ≥ 1).</summary>
    public static Position Latent(int k) => new(PositionKind.Latent, k);

    /// <summary>Where answer token n is fed (n ≥ 1).</summary>
    public static Position Answer(int n) => new(PositionKind.Answer, n);

    /// <summary>The scope (step kind) whose pass feeds this position.</summary>
    public Scope Step => Kind switch
    {
        PositionKind.Latent => Scope.Latent,
        PositionKind.Eot or PositionKind.Answer => Scope.Answer,
        _ => Scope.Prompt,
    };

    /// <summary>The label: P0, P3, question, BOT, z2, EOT, A1.</summary>
    public override string ToString() => Kind switch
    {
        PositionKind.Prompt => $"P{Index}",
        PositionKind.Question => "question",
        PositionKind.Bot => "BOT",
        PositionKind.Latent => $"z{Index}",
        PositionKind.Eot => "EOT",
        _ => $"A{Index}",
    };

    /// <summary>Parses a label (case-insensitive: P0, P3, question, BOT, z2, EOT, A1); null when it is not one.</summary>
    public static Position? TryParse(string text)
    {
        var s = text.Trim();
        if (s.Equals("question", StringComparison.OrdinalIgnoreCase)) return Question;
        if (s.Equals("bot", StringComparison.OrdinalIgnoreCase)) return Bot;
        if (s.Equals("eot", StringComparison.OrdinalIgnoreCase)) return Eot;
        if (s.Length < 2 || !int.TryParse(s.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var i)) return null;
        return char.ToLowerInvariant(s[0]) switch
        {
            'p' => Prompt(i),
            'z' when i >= 1 => Latent(i),
            'a' when i >= 1 => Answer(i),
            _ => null,
        };
    }
}

/// <summary>Which passes of the CODI loop an intervention covers (combinable).</summary>
[Flags]
public enum Scope
{
    /// <summary>No pass.</summary>
    None = 0,
    /// <summary>The prompt pass: every prompt token up to and including BOT (BOT's output gives z1).</summary>
    Prompt = 1,
    /// <summary>The passes feeding z1..zN.</summary>
    Latent = 2,
    /// <summary>The passes feeding EOT and the answer tokens (greedy or teacher-forced).</summary>
    Answer = 4,
    /// <summary>Every pass.</summary>
    All = Prompt | Latent | Answer,
}

/// <summary>
/// Where every labelled position of every row sits in the KV cache of a left-padded batch: row r's prompt of
/// <c>Lengths[r]</c> ids (BOT last) occupies cache slots <c>Offsets[r]</c> .. <c>Width − 1</c>; z_k is slot
/// <c>Width + k − 1</c>, EOT <c>Width + N</c>, answer n <c>Width + N + n</c> for every row.
/// </summary>
/// <param name="Offsets">Left padding of each row.</param>
/// <param name="Lengths">Prompt length of each row (BOT included).</param>
/// <param name="Width">The padded prompt width.</param>
/// <param name="NumLatent">Continuous thoughts N.</param>
public sealed record PositionLayout(IReadOnlyList<int> Offsets, IReadOnlyList<int> Lengths, int Width, int NumLatent)
{
    /// <summary>Rows of the batch.</summary>
    public int Rows => Lengths.Count;

    /// <summary>The cache slots of a label in row <paramref name="row"/> (several for <c>question</c>, none for an empty question).</summary>
    public IEnumerable<int> Slots(Position position, int row)
    {
        var (offset, length) = (Offsets[row], Lengths[row]);
        switch (position.Kind)
        {
            case PositionKind.Prompt:
                if (position.Index < 0 || position.Index >= length - 1)
                    throw new ArgumentOutOfRangeException(nameof(position),
                        $"{position} is not a prompt token before BOT in row {row} (prompt of {length} ids, BOT last)");
                return [offset + position.Index];
            case PositionKind.Question:
                return Enumerable.Range(offset + 1, Math.Max(0, length - 2));
            case PositionKind.Bot:
                return [offset + length - 1];
            case PositionKind.Latent:
                if (position.Index < 1 || position.Index > NumLatent)
                    throw new ArgumentOutOfRangeException(nameof(position), $"{position} is outside z1..z{NumLatent}");
                return [Width + position.Index - 1];
            case PositionKind.Eot:
                return [Width + NumLatent];
            default:
                return [Width + NumLatent + position.Index];
        }
    }

    /// <summary>The one cache slot of a single-position label (every kind but <c>question</c>).</summary>
    public int Slot(Position position, int row) => position.Kind == PositionKind.Question
        ? throw new ArgumentException("'question' names a range of positions, not one", nameof(position))
        : Slots(position, row).First();

    /// <summary>The layout of a sub-batch: the given rows, re-padded to their own widest prompt.</summary>
    public static PositionLayout Of(IReadOnlyList<int> lengths, int numLatent)
    {
        var width = lengths.Max();
        return new PositionLayout([.. lengths.Select(l => width - l)], lengths, width, numLatent);
    }
}

/// <summary>Which pass of the CODI loop a forward pass is.</summary>
public enum StepKind
{
    /// <summary>The prompt pass (every prompt token, BOT last).</summary>
    Prompt,
    /// <summary>A pass feeding one continuous thought.</summary>
    Latent,
    /// <summary>A pass feeding EOT or answer tokens (greedy: one; teacher-forced: several).</summary>
    Answer,
}

/// <summary>
/// What the CODI loop tells a forward pass about itself: which step it is, where every label of every row sits,
/// where its new positions start in the cache, and (answer steps) which rows are still decoding.
/// </summary>
/// <param name="Kind">The step kind.</param>
/// <param name="Layout">Labelled positions of every row.</param>
/// <param name="Past">Cache slots held before this pass: its new positions are slots Past .. Past + t − 1.</param>
/// <param name="Active">Rows still decoding (answer steps); null: every row.</param>
/// <param name="TeacherForced">True for the teacher-forced pass over the gold answer (captures skip it).</param>
public sealed record StepInfo(StepKind Kind, PositionLayout Layout, long Past, IReadOnlyList<bool>? Active = null, bool TeacherForced = false)
{
    /// <summary>The scope flag of this step.</summary>
    public Scope Scope => Kind switch { StepKind.Prompt => Scope.Prompt, StepKind.Latent => Scope.Latent, _ => Scope.Answer };
}
