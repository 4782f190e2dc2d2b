
namespace CodiLab.Specs;

/// <summary>
/// Loads specs from files or from the embedded defaults (<c>default:NAME</c>), resolves <c>extends</c>, and
/// binds the result against <see cref="SpecSchema"/>. Nothing is written; any problem is a
/// <see cref="SpecException"/> listing every diagnostic found.
/// </summary>
public static class SpecLoader
{
    /// <summary>Prefix of references to embedded default specs.</summary>
    public const string DefaultPrefix = "default:";

    /// <summary>The embedded default specs, in the order the targets run them.</summary>
    public static readonly IReadOnlyList<string> DefaultSpecs = ["default:tiny-llama", "default:tiny-gpt2"];

    private const string ResourcePrefix = "CodiLab.Defaults.";

    /// <summary>True if a file name in a mark refers to an embedded spec.</summary>
    public static bool IsEmbedded(string file) => file.StartsWith(DefaultPrefix, StringComparison.Ordinal);

    /// <summary>Loads and validates one spec.</summary>
    public static ExperimentSpec Load(string reference)
    {
        var display = Display(reference);
        var merged = LoadMerged(reference, new HashSet<string>(StringComparer.Ordinal));
        return SpecBinder.Bind(reference, merged, new SourceMark(display, 1, 1));
    }

    /// <summary>Loads several specs; experiment names must be distinct.</summary>
    public static IReadOnlyList<ExperimentSpec> LoadAll(IEnumerable<string> references)
    {
        var specs = references.Select(Load).ToList();
        foreach (var dup in specs.GroupBy(s => s.Name).Where(g => g.Count() > 1))
        {
            var second = dup.Skip(1).First();
            var duplicates = string.Join(", ", dup.Select(s => s.Reference));
            throw new SpecException(second.MarkOf("name"),
                $"two specs are named '{dup.Key}' ({duplicates}); their artifacts would collide.",
                "give each spec its own 'name:'.");
        }
        return specs;
    }

    private static string Display(string reference) =>
        IsEmbedded(reference) ? reference + ".yaml" : reference;

    private static SpecMapping LoadMerged(string reference, HashSet<string> seen)
    {
        var display = Display(reference);
        var identity = IsEmbedded(reference) ? reference : Path.GetFullPath(reference);
        var text = ReadText(reference, display);
        var root = SpecYaml.Parse(text, display);
        if (root is null || root is SpecScalar { IsNull: true })
            throw new SpecException(new SourceMark(display, 1, 1), "the spec is empty.",
                "write at least 'model: { arch: llama, path: ... }' (see experiments/llama-gsm8k.yaml).");
        if (root is not SpecMapping map)
            throw new SpecException(root.Mark, "a spec must be a mapping of fields ('key: value' lines).",
                "start the file with fields such as 'name:' and 'model:'.");
        var extends = map.Find("extends");
        var own = new SpecMapping(map.Mark, map.Entries.Where(e => e.Key != "extends").ToList());
        if (extends is null) return own;
        if (extends.Value is not SpecScalar { IsNull: false, Value: { } baseName })
            throw new SpecException(extends.Value.Mark, "'extends' must name one spec file.",
                "write 'extends: other.yaml' (relative to this file).");
        var baseRef = ResolveRelative(reference, baseName);
        seen.Add(identity);
        var baseIdentity = IsEmbedded(baseRef) ? baseRef : Path.GetFullPath(baseRef);
        if (seen.Contains(baseIdentity))
            throw new SpecException(extends.Value.Mark, $"'extends: {baseName}' makes a cycle.",
                "remove the 'extends' that points back to a spec already in the chain.");
        if (!IsEmbedded(baseRef) && !File.Exists(baseRef))
            throw new SpecException(extends.Value.Mark,
                $"the base spec '{baseName}' does not exist (looked for {Path.GetFullPath(baseRef)}).",
                "fix the file name; 'extends' is relative to the folder of this spec.");
        var baseMap = LoadMerged(baseRef, seen);
        // The name identifies an experiment: a derived spec never inherits its base's.
        baseMap = new SpecMapping(baseMap.Mark, baseMap.Entries.Where(e => e.Key != "name").ToList());
        return (SpecMapping)SpecYaml.Merge(baseMap, own);
    }

    private static string ResolveRelative(string reference, string target)
    {
        if (IsEmbedded(reference) && !target.Contains('/'))
            return DefaultPrefix + Path.GetFileNameWithoutExtension(target);
        if (IsEmbedded(target) || Path.IsPathRooted(target)) return target;
        var dir = IsEmbedded(reference) ? Directory.GetCurrentDirectory() : Path.GetDirectoryName(Path.GetFullPath(reference))!;
        return Path.Combine(dir, target);
    }

    private static string ReadText(string reference, string display)
    {
        if (IsEmbedded(reference))
        {
            var name = reference[DefaultPrefix.Length..];
            using var stream = typeof(SpecLoader).Assembly.GetManifestResourceStream(ResourcePrefix + name + ".yaml")
                ?? throw new SpecException(new SourceMark(display, 1, 1), $"there is no embedded default spec '{name}'.",
                    $"use one of {string.Join(", ", EmbeddedNames())} or a path to a YAML file.");
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        if (Directory.Exists(reference))
            throw new SpecException(new SourceMark(display, 1, 1), "this is a folder, not a spec file.",
                "name a YAML file such as experiments/llama-gsm8k.yaml.");
        if (!File.Exists(reference))
            throw new SpecException(new SourceMark(display, 1, 1),
                $"the spec file does not exist (looked for {Path.GetFullPath(reference)}).",
                "check the path; specs live under experiments/, "
                + "and embedded defaults are named default:tiny-llama and default:tiny-gpt2.");
        // Read at most one byte past the limit, so a huge file (or a device such as /dev/zero named by mistake) is
        // refused without being loaded.
        using var file = File.OpenRead(reference);
        var bytes = new byte[SpecYaml.MaxBytes + 1];
        var read = file.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        if (read > SpecYaml.MaxBytes) throw SpecYaml.TooLarge(display);
        using var text = new StreamReader(new MemoryStream(bytes, 0, read));
        return text.ReadToEnd();
    }

    /// <summary>Names of the embedded specs, as <c>default:NAME</c>.</summary>
    public static IEnumerable<string> EmbeddedNames() =>
        typeof(SpecLoader).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            .Select(n => DefaultPrefix + Path.GetFileNameWithoutExtension(n[ResourcePrefix.Length..]))
            .Order(StringComparer.Ordinal);
}
