using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace CodiLab.Specs;

/// <summary>A YAML node with the position it came from; the merged tree of a spec and its bases.</summary>
public abstract record SpecNode(SourceMark Mark);

/// <summary>A scalar; <see cref="Plain"/> is false for quoted scalars (which are always strings).</summary>
public sealed record SpecScalar(SourceMark Mark, string? Value, bool Plain) : SpecNode(Mark)
{
    /// <summary>True for YAML null (empty, <c>~</c> or <c>null</c>, unquoted).</summary>
    public bool IsNull => Plain && (Value is null or "" or "~" or "null" or "Null" or "NULL");
}

/// <summary>A sequence.</summary>
public sealed record SpecSequence(SourceMark Mark, IReadOnlyList<SpecNode> Items) : SpecNode(Mark);

/// <summary>A mapping; keys keep their own positions.</summary>
public sealed record SpecMapping(SourceMark Mark, IReadOnlyList<SpecEntry> Entries) : SpecNode(Mark)
{
    /// <summary>The entry with this key, if present.</summary>
    public SpecEntry? Find(string key) => Entries.FirstOrDefault(e => e.Key == key);
}

/// <summary>One key of a mapping.</summary>
public sealed record SpecEntry(string Key, SourceMark KeyMark, SpecNode Value);

/// <summary>Parses YAML text into <see cref="SpecNode"/>s, turning every YAML error into a positioned diagnostic.</summary>
public static class SpecYaml
{
    /// <summary>The largest spec file accepted, in bytes (1 MiB; real specs are well under 10 KiB).</summary>
    public const int MaxBytes = 1 << 20;

    /// <summary>The deepest nesting of mappings and sequences accepted (real specs nest three levels).</summary>
    public const int MaxDepth = 32;

    /// <summary>Parses one YAML document; an empty document gives null.</summary>
    public static SpecNode? Parse(string text, string file)
    {
        if (text.Length > MaxBytes) throw TooLarge(file);
        CheckSyntax(text, file);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e) when (e.Message.StartsWith("Duplicate key", StringComparison.Ordinal))
        {
            throw new SpecException(new SourceMark(file, (int)e.Start.Line, (int)e.Start.Column),
                $"the key '{e.Message["Duplicate key".Length..].Trim()}' appears twice in the same mapping.", "keep one of them.");
        }
        if (stream.Documents.Count == 0) return null;
        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode.Start;
            throw new SpecException(new SourceMark(file, (int)second.Line, (int)second.Column),
                "the file holds more than one YAML document.", "keep one experiment per file; remove the '---' separator.");
        }
        return Convert(stream.Documents[0].RootNode, file);
    }

    private const string SyntaxFix =
        "check indentation (spaces only), that every 'key: value' has a space after the colon, and that quotes and brackets are closed.";

    // Runs the YAML parser alone first, so every syntax error gets the best position available: YamlDotNet
    // places tab errors at 1:1 and throws InvalidOperationException (no position) for an unclosed bracket.
    private static void CheckSyntax(string text, string file)
    {
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var indent = lines[i].Length - lines[i].TrimStart(' ', '\t').Length;
            var tab = lines[i].IndexOf('\t', 0, indent);
            if (tab >= 0)
            {
                throw new SpecException(new SourceMark(file, i + 1, tab + 1),
                    "the YAML is malformed: a tab is used for indentation.", "indent with spaces only.");
            }
        }
        var parser = new Parser(new StringReader(text));
        var last = new SourceMark(file, 1, 1);
        var depth = 0;
        try
        {
            while (parser.MoveNext())
            {
                depth = Bound(parser.Current!, depth, file);
                last = new SourceMark(file, (int)parser.Current!.End.Line, (int)parser.Current.End.Column);
            }
        }
        catch (YamlException e)
        {
            throw new SpecException(new SourceMark(file, (int)e.Start.Line, (int)e.Start.Column),
                $"the YAML is malformed: {e.Message.Trim()}", SyntaxFix);
        }
        catch (InvalidOperationException)
        {
            throw new SpecException(last,
                "the YAML is malformed: a bracket, brace or quote opened before this point is never closed.", SyntaxFix);
        }
    }

    /// <summary>The error for a spec file over <see cref="MaxBytes"/>.</summary>
    public static SpecException TooLarge(string file) =>
        new(new SourceMark(file, 1, 1), $"the spec is larger than {MaxBytes / (1 << 20)} MiB, the limit for spec files.",
            "check that this is the spec you meant; a spec holds a few dozen fields "
            + "(shared fields belong in a base spec named by 'extends').");

    // Refuses, event by event and before any tree is built, what could make loading explode: an alias is expanded
    // in place by YamlStream, so a few KB of nested aliases ("billion laughs") become gigabytes; deep nesting overflows
    // the recursive tree builder. Returns the nesting depth after this event.
    private static int Bound(ParsingEvent e, int depth, string file)
    {
        var mark = new SourceMark(file, (int)e.Start.Line, (int)e.Start.Column);
        if (e is AnchorAlias || e is NodeEvent { Anchor.IsEmpty: false })
            throw new SpecException(mark, "aliases and anchors ('&name', '*name') are not supported in specs.",
                "write the value out, or use 'extends' to share fields with a base spec.");
        depth += e.NestingIncrease;
        if (depth > MaxDepth)
            throw new SpecException(mark, $"the YAML nests deeper than {MaxDepth} levels.",
                "a spec nests at most three levels (e.g. model.lora.r); check for unclosed or repeated brackets.");
        return depth;
    }

    private static SpecNode Convert(YamlNode node, string file)
    {
        var mark = new SourceMark(file, (int)node.Start.Line, (int)node.Start.Column);
        switch (node)
        {
            case YamlScalarNode s:
                return new SpecScalar(mark, s.Value, s.Style is ScalarStyle.Plain or ScalarStyle.Any);
            case YamlSequenceNode q:
                return new SpecSequence(mark, q.Children.Select(c => Convert(c, file)).ToList());
            case YamlMappingNode m:
                var entries = new List<SpecEntry>();
                foreach (var (k, v) in m.Children)
                {
                    var keyMark = new SourceMark(file, (int)k.Start.Line, (int)k.Start.Column);
                    if (k is not YamlScalarNode ks || ks.Value is null)
                        throw new SpecException(keyMark, "a mapping key must be a plain word.", "write keys as 'name: value'.");
                    if (entries.Any(e => e.Key == ks.Value))
                        throw new SpecException(keyMark, $"the key '{ks.Value}' appears twice in the same mapping.", "keep one of them.");
                    entries.Add(new SpecEntry(ks.Value, keyMark, Convert(v, file)));
                }
                return new SpecMapping(mark, entries);
            default:
                throw new SpecException(mark, "aliases and anchors are not supported in specs.",
                    "write the value out, or use 'extends' to share fields.");
        }
    }

    /// <summary>
    /// Deep-merges <paramref name="over"/> onto <paramref name="under"/>: mappings merge key by key, anything else replaces.
    /// </summary>
    public static SpecNode Merge(SpecNode under, SpecNode over)
    {
        if (under is not SpecMapping u || over is not SpecMapping o) return over;
        var entries = new List<SpecEntry>(u.Entries.Count + o.Entries.Count);
        foreach (var e in u.Entries)
        {
            var replacement = o.Find(e.Key);
            entries.Add(replacement is null ? e : replacement with { Value = Merge(e.Value, replacement.Value) });
        }
        entries.AddRange(o.Entries.Where(e => u.Find(e.Key) is null));
        return new SpecMapping(o.Mark, entries);
    }
}
