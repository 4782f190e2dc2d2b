namespace CodiLab.Analysis;

/// <summary>
/// What a prompt token is, for the question-token analysis: the first position (BOS on LLaMA, the first question token on
/// GPT-2: always shown apart), a number (digits), an operator (+ − * / = × ÷ % ^), the last token before BOT, or any other
/// token (words, punctuation). Position wins over content: P0 and the last token are those whatever their text.
/// </summary>
public enum TokenKind
{
    /// <summary>Position 0 (P0).</summary>
    First,

    /// <summary>Digits (with , or . inside), e.g. "48", " 1,200", "3.5".</summary>
    Number,

    /// <summary>Only operator characters, e.g. "+", " *", "=".</summary>
    Operator,

    /// <summary>The last question token (just before BOT).</summary>
    Last,

    /// <summary>Anything else: words, punctuation, spaces.</summary>
    Other,
}

/// <summary>Classifies decoded token texts into <see cref="TokenKind"/>s.</summary>
public static class TokenKinds
{
    /// <summary>The kinds in array order (the last axis of the question-token mass array).</summary>
    public static readonly TokenKind[] All = [TokenKind.First, TokenKind.Number, TokenKind.Operator, TokenKind.Last, TokenKind.Other];

    /// <summary>The question kinds (everything but P0), in array order.</summary>
    public static readonly TokenKind[] Question = [TokenKind.Number, TokenKind.Operator, TokenKind.Last, TokenKind.Other];

    /// <summary>Characters that make an operator token ("-" included: in GSM8K text it is sometimes a hyphen).</summary>
    public const string OperatorChars = "+-*/=×÷%^−";

    /// <summary>The word a file and a report use for a kind.</summary>
    public static string Word(this TokenKind kind) => kind switch
    {
        TokenKind.First => "P0",
        TokenKind.Number => "number",
        TokenKind.Operator => "operator",
        TokenKind.Last => "last",
        _ => "other",
    };

    /// <summary>The kind a word names (<see cref="Word"/>'s inverse); an unknown word is <see cref="TokenKind.Other"/>.</summary>
    public static TokenKind Parse(string word) => All.FirstOrDefault(k => k.Word() == word, TokenKind.Other);

    /// <summary>The kind of one token by its text alone (never <see cref="TokenKind.First"/> or <see cref="TokenKind.Last"/>).</summary>
    public static TokenKind Classify(string text)
    {
        // SentencePiece marks a leading space with U+2581; GPT-2's byte level with U+0120 when not decoded.
        var t = text.Trim().Trim('\u2581', '\u0120');
        if (t.Length == 0) return TokenKind.Other;
        if (t.Any(char.IsAsciiDigit) && t.All(c => char.IsAsciiDigit(c) || c is ',' or '.')) return TokenKind.Number;
        if (t.All(c => OperatorChars.Contains(c, StringComparison.Ordinal))) return TokenKind.Operator;
        return TokenKind.Other;
    }

    /// <summary>
    /// The kind of every prompt token before BOT (<paramref name="texts"/>[0] is P0, the last one the last question token).
    /// </summary>
    public static TokenKind[] OfPrompt(IReadOnlyList<string> texts) =>
        [.. texts.Select((t, i) => i == 0 ? TokenKind.First : i == texts.Count - 1 ? TokenKind.Last : Classify(t))];
}
