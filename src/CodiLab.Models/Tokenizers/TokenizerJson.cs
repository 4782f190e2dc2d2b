using System.Text;
using System.Text.Json;

namespace CodiLab.Models.Tokenizers;

/// <summary>Where a tokenizer's start token came from: its id, its text and the place that named it.</summary>
public sealed record StartToken(int Id, string Text, string Source);

/// <summary>
/// The parts of a Hugging Face <c>tokenizer.json</c> that decide ids beyond vocab and merges: the post-processor
/// that adds the start token (top-level, or nested in a <c>Sequence</c> as Llama-3.x ships it) and the
/// byte-level alphabet that <c>ignore_merges</c> looks words up in.
/// </summary>
public static class TokenizerJson
{
    private static readonly string[] ByteChars = BuildByteChars();

    /// <summary>
    /// The start token a post-processor adds before the text, searched through nested <c>Sequence</c> processors;
    /// null when none adds one (GPT-2's ByteLevel). A template that adds tokens after the text, or more than
    /// one before it, is an error: CodiLab prepends one start token and appends nothing.
    /// </summary>
    public static StartToken? FindStartToken(JsonElement postProcessor, string path = "post_processor")
    {
        if (postProcessor.ValueKind != JsonValueKind.Object || !postProcessor.TryGetProperty("type", out var type)) return null;
        switch (type.GetString())
        {
            case "Sequence" when postProcessor.TryGetProperty("processors", out var list):
                var index = 0;
                foreach (var inner in list.EnumerateArray())
                {
                    if (FindStartToken(inner, $"{path}.processors[{index}]") is { } found) return found;
                    index++;
                }
                return null;
            case "TemplateProcessing":
                return FromTemplate(postProcessor, path);
            default:
                return null;
        }
    }

    // TemplateProcessing: "single" lists SpecialToken / Sequence pieces; "special_tokens" maps a name to its ids.
    private static StartToken? FromTemplate(JsonElement template, string path)
    {
        if (!template.TryGetProperty("single", out var single) || single.ValueKind != JsonValueKind.Array) return null;
        var before = new List<string>();
        var after = new List<string>();
        var seenText = false;
        foreach (var piece in single.EnumerateArray())
        {
            if (piece.TryGetProperty("Sequence", out _)) seenText = true;
            else if (piece.TryGetProperty("SpecialToken", out var special))
                (seenText ? after : before).Add(special.GetProperty("id").GetString()!);
        }
        if (after.Count > 0 || before.Count > 1)
            throw new FormatException($"{path} (TemplateProcessing) adds [{string.Join(", ", before)}] before the text and "
                + $"[{string.Join(", ", after)}] after it; CodiLab supports exactly one start token and nothing after the text");
        if (before.Count == 0) return null;
        var name = before[0];
        if (!template.TryGetProperty("special_tokens", out var map) || !map.TryGetProperty(name, out var entry)
            || !entry.TryGetProperty("ids", out var ids) || ids.GetArrayLength() != 1)
            throw new FormatException(
                $"{path} (TemplateProcessing) names the start token '{name}' but its special_tokens entry has no single id");
        return new StartToken(ids[0].GetInt32(), name, $"tokenizer.json {path} (TemplateProcessing)");
    }

    /// <summary>The byte-level form of a text, as a byte-level BPE vocabulary spells it (GPT-2's byte-to-character table).</summary>
    public static string ToByteLevel(string text) => ToByteLevel(Encoding.UTF8.GetBytes(text));

    /// <summary>The byte-level spelling of raw bytes (a tiktoken rank's, which need not be whole UTF-8).</summary>
    public static string ToByteLevel(ReadOnlySpan<byte> bytes)
    {
        var builder = new StringBuilder(bytes.Length);
        foreach (var b in bytes) builder.Append(ByteChars[b]);
        return builder.ToString();
    }

    // Printable bytes keep their character; the others (controls, space, a few Latin-1) move to 256, 257, … in order.
    private static string[] BuildByteChars()
    {
        var chars = new string[256];
        var next = 256;
        for (int b = 0; b < 256; b++)
        {
            var printable = b is (>= '!' and <= '~') or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF);
            chars[b] = ((char)(printable ? b : next++)).ToString();
        }
        return chars;
    }
}
