using System.Globalization;

namespace CodiLab.Specs;

/// <summary>
/// A validated experiment spec: every schema field has a value (defaults applied), and each value remembers
/// where it was written so later checks (missing files, hash mismatches) can point at the right line.
/// </summary>
public sealed class ExperimentSpec
{
    private readonly IReadOnlyDictionary<string, SourceMark> _marks;

    internal ExperimentSpec(
        string reference, string name, IReadOnlyDictionary<string, object?> fields, IReadOnlyDictionary<string, SourceMark> marks,
        SourceMark origin)
    {
        Reference = reference;
        Name = name;
        Fields = fields;
        _marks = marks;
        Origin = origin;
        Description = Text("description") ?? "";
        Seed = Int("seed");
        Model = new ModelSection(
            SpecWords.Parse<Arch>(Text("model.arch")!),
            SpecWords.Parse<ModelSource>(Text("model.source")!),
            Text("model.path"),
            ExpandPath("model.path"),
            ExpandPath("model.tokenizer"),
            new LoraSection(checked((int)Int("model.lora.r")), Number("model.lora.alpha")),
            checked((int)Int("model.num_latent")),
            SpecWords.Parse<ComputeDType>(Text("model.dtype")!),
            SpecWords.Parse<DeviceChoice>(Text("model.device")!));
        var datasetPath = Text("dataset.path");
        Dataset = new DatasetSection(
            SpecWords.Parse<DatasetSource>(Text("dataset.source")!),
            SpecWords.Parse<DatasetSplit>(Text("dataset.split")!),
            datasetPath,
            datasetPath is not null && (datasetPath.StartsWith('~') || System.IO.Path.IsPathRooted(datasetPath))
                ? ExpandPath("dataset.path")
                : null,
            Text("dataset.sha256"),
            checked((int)Int("dataset.size")),
            SampleSize.From(Fields["dataset.sample"]));
        Extraction = new ExtractionSection(
            SpecWords.Parse<Matrix>(Text("extraction.matrix")!),
            BatchSize.From(Fields["extraction.batch_size"]),
            checked((int)Int("extraction.max_new_tokens")),
            Number("extraction.max_failures"));
        Analysis = new AnalysisSection(
            Number("analysis.hub_ratio_threshold"),
            Number("analysis.sequential_threshold"),
            Number("analysis.skip_threshold"),
            checked((int)Int("analysis.top_heads")));
        Interventions = InterventionsSection.Read(this);
        Phase4 = Phase4Section.Read(this);
        Phases = [.. Words("phases").Select(SpecWords.Parse<Phase>)];
        Audit = new AuditSection(Number("audit.tolerance"), Number("audit.relative_tolerance"));
    }

    /// <summary>The audit section (verify's tolerance).</summary>
    public AuditSection Audit { get; }

    /// <summary>Free text shown in reports.</summary>
    public string Description { get; }

    /// <summary>The seed of every random choice.</summary>
    public long Seed { get; }

    /// <summary>The model section.</summary>
    public ModelSection Model { get; }

    /// <summary>The dataset section.</summary>
    public DatasetSection Dataset { get; }

    /// <summary>The extraction section.</summary>
    public ExtractionSection Extraction { get; }

    /// <summary>The analysis section.</summary>
    public AnalysisSection Analysis { get; }

    /// <summary>The interventions section (Phase 3).</summary>
    public InterventionsSection Interventions { get; }

    /// <summary>The phase4 section (the full-set view).</summary>
    public Phase4Section Phase4 { get; }

    /// <summary>The phases this experiment runs.</summary>
    public IReadOnlyList<Phase> Phases { get; }

    /// <summary>Every field in schema order: its path, canonical value and where it came from ("default" if not written).</summary>
    public IReadOnlyList<ResolvedField> Resolved() =>
        [.. SpecSchema.Fields.Select(def => new ResolvedField(
            def.Path,
            Canonical(Fields[def.Path]),
            IsWritten(def.Path) ? MarkOf(def.Path).ToString() : "default"))];

    /// <summary>The canonical value of a schema field, as it goes into cache keys (for declared stage fields).</summary>
    public string CanonicalOf(string path) => Canonical(Fields[path]);

    /// <summary>How the spec was named (a path, or <c>default:NAME</c> for an embedded default).</summary>
    public string Reference { get; }

    /// <summary>The experiment's name: the folder under artifacts/ and the middle of its Cake task names.</summary>
    public string Name { get; }

    /// <summary>Every schema field's resolved value: long, double, string, string[] or null (unset).</summary>
    internal IReadOnlyDictionary<string, object?> Fields { get; }

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

    /// <summary>A text field (null if unset).</summary>
    internal string? Text(string path) => Fields[path] as string;

    /// <summary>An integer field; throws if it holds a word such as 'all'.</summary>
    internal long Int(string path) => Fields[path] is long l ? l : throw new InvalidOperationException($"{path} is not an integer");

    /// <summary>An integer field that may hold a word instead ('all', 'auto'): null then.</summary>
    internal long? IntOrWord(string path) => Fields[path] as long?;

    /// <summary>A number field.</summary>
    internal double Number(string path) => Convert.ToDouble(Fields[path], CultureInfo.InvariantCulture);

    /// <summary>A list field.</summary>
    internal IReadOnlyList<string> Words(string path) => (string[])Fields[path]!;

    /// <summary>
    /// Expands a path field: <c>~</c> is the home folder; a relative path is taken relative to the folder of the
    /// file that wrote it (embedded defaults: the current folder). Null if unset.
    /// </summary>
    internal string? ExpandPath(string path)
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
    public static string Canonical(object? value) => SpecCanonical.Text(value);
}

/// <summary>One resolved spec field: its path, canonical value and origin (file:line:column, or "default").</summary>
public sealed record ResolvedField(string Path, string Value, string Origin);
