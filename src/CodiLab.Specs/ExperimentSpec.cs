using System.Globalization;

namespace CodiLab.Specs;

/// <summary>
/// A validated experiment spec: every schema field has a value (defaults applied), and each value remembers
/// where it was written so later checks (missing files, hash mismatches) can point at the right line.
/// </summary>
public sealed class ExperimentSpec
{
    private readonly IReadOnlyDictionary<string, SourceMark> _marks;

    internal ExperimentSpec(string reference, string name, IReadOnlyDictionary<string, object?> fields, IReadOnlyDictionary<string, SourceMark> marks, SourceMark origin)
    {
        Reference = reference;
        Name = name;
        Fields = fields;
        _marks = marks;
        Origin = origin;
    }

    /// <summary>How the spec was named (a path, or <c>default:NAME</c> for an embedded default).</summary>
    public string Reference { get; }

    /// <summary>The experiment's name: the folder under artifacts/ and the middle of its Cake task names.</summary>
    public string Name { get; }

    /// <summary>Every schema field's resolved value: long, double, string, string[] or null (unset).</summary>
    public IReadOnlyDictionary<string, object?> Fields { get; }

    /// <summary>The start of the spec file itself.</summary>
    public SourceMark Origin { get; }

    /// <summary>Where a field's value was written; for a defaulted field, where its nearest written group starts.</summary>
    public SourceMark MarkOf(string path)
    {
        for (var p = path; ; p = p[..p.LastIndexOf('.')])
        {
            if (_marks.TryGetValue(p, out var m)) return m;
            if (!p.Contains('.')) return Origin;
        }
    }

    /// <summary>True if the field was written in the spec (or a base), not defaulted.</summary>
    public bool IsWritten(string path) => _marks.ContainsKey(path);

    /// <summary>The seed.</summary>
    public long Seed => Int("seed");

    /// <summary>A text field (null if unset).</summary>
    public string? Text(string path) => Fields[path] as string;

    /// <summary>An integer field; throws if it holds a word such as 'all'.</summary>
    public long Int(string path) => Fields[path] is long l ? l : throw new InvalidOperationException($"{path} is not an integer");

    /// <summary>An integer field that may hold a word instead ('all', 'auto'): null then.</summary>
    public long? IntOrWord(string path) => Fields[path] as long?;

    /// <summary>A number field.</summary>
    public double Number(string path) => Convert.ToDouble(Fields[path], CultureInfo.InvariantCulture);

    /// <summary>A list field.</summary>
    public IReadOnlyList<string> Words(string path) => (string[])Fields[path]!;

    /// <summary>
    /// Expands a path field: <c>~</c> is the home folder; a relative path is taken relative to the folder of the
    /// file that wrote it (embedded defaults: the current folder). Null if unset.
    /// </summary>
    public string? ExpandPath(string path)
    {
        var raw = Text(path);
        if (string.IsNullOrEmpty(raw)) return null;
        if (raw == "~" || raw.StartsWith("~/", StringComparison.Ordinal))
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), raw.Length > 2 ? raw[2..] : "");
        if (Path.IsPathRooted(raw)) return raw;
        var file = MarkOf(path).File;
        var dir = SpecLoader.IsEmbedded(file) ? Directory.GetCurrentDirectory() : Path.GetDirectoryName(Path.GetFullPath(file))!;
        return Path.GetFullPath(Path.Combine(dir, raw));
    }

    /// <summary>A canonical text form of a field value, as used in cache keys and plan messages.</summary>
    public static string Canonical(object? value) => value switch
    {
        null => "null",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        string[] a => "[" + string.Join(",", a) + "]",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "null",
    };
}
