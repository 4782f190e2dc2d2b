using System.Collections;
using System.Globalization;

namespace CodiLab.Specs;

/// <summary>
/// Marks a property of a stage's parameters record as the value of one spec field. The record's marked properties,
/// in canonical text, are the stage's field material: the cache key and the lock entry are built from them alone.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SpecFieldAttribute(string path) : Attribute
{
    /// <summary>The spec field (dotted path) the property holds.</summary>
    public string Path { get; } = path;
}

/// <summary>
/// The canonical text of typed spec values: the same text <see cref="ExperimentSpec.CanonicalOf"/> gives for the raw field.
/// </summary>
public static class SpecCanonical
{
    /// <summary>
    /// Canonical text of a typed value: integers and numbers invariant ("R" for doubles), enums as the spec's words, lists in brackets.
    /// </summary>
    public static string Text(object? value) => value switch
    {
        null => "null",
        string s => s,
        int i => i.ToString(CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        Phase p => p.Word(),
        Enum e => e.ToString().ToLowerInvariant(),
        SampleSize or BatchSize => value.ToString()!,
        IEnumerable items => "[" + string.Join(",", items.Cast<object?>().Select(Text)) + "]",
        _ => throw new ArgumentException($"no canonical text for a {value.GetType().Name}"),
    };

    /// <summary>Every <see cref="SpecFieldAttribute"/> property of a parameters record: spec path → canonical text (sorted).</summary>
    public static SortedDictionary<string, string> Fields(object parameters)
    {
        var fields = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in parameters.GetType().GetProperties())
        {
            var value = property.GetValue(parameters);
            if (value is IEnumerable<ResolvedField> rows)
                foreach (var row in rows) fields[row.Path] = row.Value;
            else if (property.GetCustomAttributes(typeof(SpecFieldAttribute), inherit: true) is [SpecFieldAttribute field, ..])
                fields[field.Path] = Text(value);
        }
        return fields;
    }
}
