using System.Globalization;
using System.Text;

namespace CodiLab.Pipeline.Data;

/// <summary>
/// Writes JSON exactly as Python's <c>json.dump(obj, f, indent=2)</c> does with its defaults
/// (<c>ensure_ascii=True</c>, separators <c>", "</c>/<c>": "</c>, no final newline), so files the seed scripts
/// wrote can be reproduced byte for byte (docs/experiment.md#the-dataset-json). Values: string, long, int, bool, null,
/// lists, and ordered key/value lists for objects.
/// </summary>
public static class PyJson
{
    /// <summary>Serialises a value.</summary>
    public static string Dump(object? value, int indent = 2)
    {
        var sb = new StringBuilder();
        Write(sb, value, indent, 0);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, object? value, int indent, int level)
    {
        switch (value)
        {
            case null: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case string s: WriteString(sb, s); break;
            case int or long: sb.Append(Convert.ToString(value, CultureInfo.InvariantCulture)); break;
            case IEnumerable<KeyValuePair<string, object?>> obj:
                WriteContainer(sb, obj.ToList(), '{', '}', indent, level, (kv, l) =>
                {
                    WriteString(sb, kv.Key);
                    sb.Append(": ");
                    Write(sb, kv.Value, indent, l);
                });
                break;
            case System.Collections.IEnumerable list:
                WriteContainer(sb, list.Cast<object?>().ToList(), '[', ']', indent, level, (v, l) => Write(sb, v, indent, l));
                break;
            default: throw new ArgumentException($"PyJson cannot write {value.GetType().Name}");
        }
    }

    private static void WriteContainer<T>(
        StringBuilder sb, List<T> items, char open, char close, int indent, int level, Action<T, int> writeItem)
    {
        if (items.Count == 0)
        {
            sb.Append(open).Append(close);
            return;
        }
        var inner = new string(' ', indent * (level + 1));
        sb.Append(open).Append('\n');
        for (int i = 0; i < items.Count; i++)
        {
            if (i > 0) sb.Append(",\n");
            sb.Append(inner);
            writeItem(items[i], level + 1);
        }
        sb.Append('\n').Append(' ', indent * level).Append(close);
    }

    /// <summary>Python's <c>ensure_ascii</c> string escaping (lowercase hex, surrogate pairs for astral characters).</summary>
    public static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || c >= 0x7f) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
