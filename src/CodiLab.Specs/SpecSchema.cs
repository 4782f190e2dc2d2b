using System.Globalization;
using System.Text.RegularExpressions;

namespace CodiLab.Specs;

/// <summary>The kinds of value a spec field holds.</summary>
public enum FieldKind
{
    /// <summary>A lowercase identifier usable in folder and task names.</summary>
    Name,
    /// <summary>An integer within [Min, Max], or one of the <see cref="FieldDef.Words"/>.</summary>
    Int,
    /// <summary>A number within [Min, Max].</summary>
    Number,
    /// <summary>One of the <see cref="FieldDef.Words"/>.</summary>
    Choice,
    /// <summary>A file-system path (<c>~</c> expands to the home folder).</summary>
    Path,
    /// <summary>A SHA-256 digest, 64 hex digits.</summary>
    Sha256,
    /// <summary>A list of <see cref="FieldDef.Words"/>.</summary>
    ChoiceList,
    /// <summary>Free text; never part of a cache key.</summary>
    Text,
    /// <summary>A list of distinct integers within [Min, Max].</summary>
    IntList,
}

/// <summary>One leaf field of the spec schema.</summary>
public sealed record FieldDef(string Path, FieldKind Kind, object? Default, string Help)
{
    /// <summary>Smallest allowed number.</summary>
    public double Min { get; init; } = double.MinValue;
    /// <summary>Largest allowed number.</summary>
    public double Max { get; init; } = double.MaxValue;
    /// <summary>Allowed words (choices, or words accepted in place of an integer such as <c>all</c>).</summary>
    public IReadOnlyList<string> Words { get; init; } = [];
}

/// <summary>
/// The experiment spec schema (docs/spec-reference.md): every field, its type, range and default. Binding walks the
/// merged YAML tree against this table, so unknown keys, wrong types and out-of-range values are all reported
/// with their position, and every field of a resolved spec has a value.
/// </summary>
public static partial class SpecSchema
{
    /// <summary>The default seed (the seed experiment's).</summary>
    public const long DefaultSeed = 42;

    /// <summary>Every leaf field.</summary>
    public static readonly IReadOnlyList<FieldDef> Fields =
    [
        new("name", FieldKind.Name, null, "the experiment's name: lowercase letters, digits and '-' (default: the file name)"),
        new("description", FieldKind.Text, "", "free text shown in reports"),
        new("seed", FieldKind.Int, DefaultSeed, "the seed of every random choice (sampling, generated models)")
            { Min = 0, Max = uint.MaxValue },
        new("model.arch", FieldKind.Choice, null, "the base architecture") { Words = ["llama", "gpt2"] },
        new("model.source", FieldKind.Choice, "checkpoint",
            "checkpoint: a CODI folder at model.path; generated: a tiny random CODI model made from the seed")
            { Words = ["checkpoint", "generated"] },
        new("model.path", FieldKind.Path, null, "the CODI checkpoint folder (docs/model-folder.md)"),
        new("model.tokenizer", FieldKind.Path, null, "a folder with the tokenizer files (default: model.path)"),
        new("model.lora.r", FieldKind.Int, 128L, "LoRA rank of the checkpoint") { Min = 1, Max = 65536 },
        new("model.lora.alpha", FieldKind.Number, 32.0, "LoRA alpha of the checkpoint") { Min = double.Epsilon, Max = 1e6 },
        new("model.num_latent", FieldKind.Int, 6L, "continuous thoughts fed after BOT") { Min = 1, Max = 64 },
        new("model.dtype", FieldKind.Choice, "float32", "compute dtype") { Words = ["float32", "bfloat16"] },
        new("model.device", FieldKind.Choice, "auto", "compute device") { Words = ["auto", "cpu", "cuda"] },
        new("dataset.source", FieldKind.Choice, "gsm8k",
            "gsm8k: JSONL under the data root; synthetic: GSM8K-style problems generated from the seed")
            { Words = ["gsm8k", "synthetic"] },
        new("dataset.split", FieldKind.Choice, "train", "which split") { Words = ["train", "test"] },
        new("dataset.path", FieldKind.Path, null,
            "JSONL path relative to the data root (CODILAB_DATA_DIR, else artifacts/data); default gsm8k/<split>.jsonl"),
        new("dataset.sha256", FieldKind.Sha256, null, "expected SHA-256 of the JSONL (default: the official file's for the split)"),
        new("dataset.size", FieldKind.Int, 500L, "synthetic only: how many problems to generate") { Min = 1, Max = 1_000_000 },
        new("dataset.sample", FieldKind.Int, 100L,
            "how many problems to sample (Python random.sample with the seed, then sorted), or 'all'")
            { Min = 1, Max = int.MaxValue, Words = ["all"] },
        new("extraction.matrix", FieldKind.Choice, "seed", "seed: the seed report's 6x6 (with its off-by-one); latent: labelled z1..z6")
            { Words = ["seed", "latent"] },
        new("extraction.batch_size", FieldKind.Int, 16L, "problems per batch, or 'auto'") { Min = 1, Max = 65536, Words = ["auto"] },
        new("extraction.max_new_tokens", FieldKind.Int, 0L,
            "answer tokens decoded greedily after EOT (0: none, as the seed; more adds each answer and the accuracy)")
            { Min = 0, Max = 4096 },
        new("extraction.max_failures", FieldKind.Number, 0.0,
            "problems whose CODI loop may fail (an error, or non-finite attention) before extract refuses to commit: "
            + "a count (0, 1, 2, …) or a fraction of the sample below 1 (0.05 = 5%)")
            { Min = 0, Max = 1e9 },
        new("analysis.hub_ratio_threshold", FieldKind.Number, 2.0, "hub ratio above which a hub is 'strong'") { Min = 0, Max = 1e6 },
        new("analysis.sequential_threshold", FieldKind.Number, 0.3, "mean i->i-1 attention above which flow is 'sequential'")
            { Min = 0, Max = 1 },
        new("analysis.skip_threshold", FieldKind.Number, 0.1, "mean skip attention above which skips 'exist'") { Min = 0, Max = 1 },
        new("analysis.top_heads", FieldKind.Int, 20L, "how many top heads to list and draw") { Min = 1, Max = 100_000 },
        new("audit.tolerance", FieldKind.Number, 5e-4,
            "verify: absolute difference allowed between a pinned and a rerun value (plus audit.relative_tolerance times |pinned|)")
            { Min = 0, Max = 1e6 },
        new("audit.relative_tolerance", FieldKind.Number, 1e-3, "verify: difference allowed per unit of |pinned value|")
            { Min = 0, Max = 1e6 },
        .. InterventionFields.All,
        .. Phase4Fields.All,
        new("phases", FieldKind.ChoiceList, new[] { "Phase1" }, "the phases this experiment runs")
            { Words = ["Phase1", "Phase2", "Phase3", "Phase4"] },
    ];

    /// <summary>Official GSM8K file hashes per split (docs/platform.md#the-data-root).</summary>
    public static readonly IReadOnlyDictionary<string, string> OfficialGsm8kSha256 = new Dictionary<string, string>
    {
        ["train"] = "17f347dc51477c50d4efb83959dbb7c56297aba886e5544ee2aaed3024813465",
        ["test"] = "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14",
    };

    private static readonly Dictionary<string, FieldDef> ByPath = Fields.ToDictionary(f => f.Path);

    /// <summary>Mapping paths that hold fields (the groups), besides the root.</summary>
    public static readonly IReadOnlySet<string> Groups = Fields
        .SelectMany(f => Prefixes(f.Path)).ToHashSet();

    /// <summary>Looks up a field.</summary>
    public static FieldDef? Find(string path) => ByPath.GetValueOrDefault(path);

    private static IEnumerable<string> Prefixes(string path)
    {
        for (int i = path.IndexOf('.'); i >= 0; i = path.IndexOf('.', i + 1)) yield return path[..i];
    }

    /// <summary>Keys valid at a mapping path ("" = root), for "did you mean" hints.</summary>
    public static IEnumerable<string> KeysAt(string group)
    {
        var prefix = group.Length == 0 ? "" : group + ".";
        var keys = Fields.Select(f => f.Path).Concat(Groups)
            .Where(p => p.StartsWith(prefix, StringComparison.Ordinal) && !p[prefix.Length..].Contains('.'))
            .Select(p => p[prefix.Length..]);
        return group.Length == 0 ? keys.Append("extends") : keys;
    }

    /// <summary>
    /// Names no experiment may take, each with the reason. An experiment's folder is <c>artifacts/&lt;name&gt;/</c>, and these
    /// are the names the harness itself uses beside the experiment folders: an experiment so named would write its views
    /// into the harness's folder, and <c>clean</c> of it would delete that folder. Any folder or file the harness adds under
    /// the artifacts root must be listed here, unless its name starts with '.', which <see cref="NamePattern"/> already
    /// refuses (housekeeping also reads this list: it never treats these folders as experiments).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> ReservedNames =
        new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["cache"] = "artifacts/cache/ is the content-addressed cache every experiment shares",
            ["compare"] = "artifacts/compare/ holds the comparisons between experiments",
            ["data"] = "artifacts/data/ is the default data root, where fetch-data puts the GSM8K files",
            ["logs"] = "artifacts/logs/ holds the full traces of internal errors",
            ["audit"] = "artifacts/audit/ holds the isolated reruns of 'verify' while they run",
            ["site"] = "artifacts/site/ is the static report site 'codilab site' writes",
        };

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,63}$")]
    internal static partial Regex NamePattern();

    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    internal static partial Regex Sha256Pattern();

    /// <summary>Parses one scalar for a field; returns null and sets <paramref name="error"/> when it does not fit.</summary>
    internal static object? ParseScalar(FieldDef def, SpecScalar s, out string? error)
    {
        error = null;
        var text = s.Value ?? "";
        switch (def.Kind)
        {
            case FieldKind.Name:
                if (NamePattern().IsMatch(text)) return text;
                error = $"'{text}' is not a valid name for '{def.Path}'";
                return null;
            case FieldKind.Text:
            case FieldKind.Path:
                return text;
            case FieldKind.Sha256:
                if (Sha256Pattern().IsMatch(text)) return text.ToLowerInvariant();
                error = $"'{text}' is not a SHA-256 digest (64 hexadecimal digits)";
                return null;
            case FieldKind.Choice:
                if (def.Words.Contains(text)) return text;
                error = $"'{text}' is not one of {string.Join(", ", def.Words)}";
                return null;
            case FieldKind.Int:
                if (def.Words.Contains(text)) return text;
                if (!s.Plain || !long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
                {
                    var also = def.Words.Count > 0 ? $" or {string.Join(", ", def.Words.Select(w => $"'{w}'"))}" : "";
                    error = $"expected an integer{also}, got {Describe(s)}";
                    return null;
                }
                if (l < def.Min || l > def.Max)
                {
                    error = $"{l} is out of range {RangeText(def)}";
                    return null;
                }
                return l;
            case FieldKind.Number:
                if (!s.Plain || !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || !double.IsFinite(d))
                {
                    error = $"expected a number, got {Describe(s)}";
                    return null;
                }
                if (d < def.Min || d > def.Max)
                {
                    error = $"{text} is out of range {RangeText(def)}";
                    return null;
                }
                return d;
            default:
                throw new InvalidOperationException($"field kind {def.Kind} is not a scalar");
        }
    }

    private static string Describe(SpecScalar s) => s.Plain ? $"'{s.Value}'" : $"the quoted string \"{s.Value}\"";

    private static string RangeText(FieldDef def) =>
        $"[{def.Min.ToString(CultureInfo.InvariantCulture)}, {def.Max.ToString(CultureInfo.InvariantCulture)}]";
}
