namespace CodiLab.Specs;

/// <summary>Binds a merged YAML tree to the schema: collects every diagnostic, then applies defaults and cross-field rules.</summary>
internal static class SpecBinder
{
    public static ExperimentSpec Bind(string reference, SpecMapping root, SourceMark origin)
    {
        var errors = new List<SpecDiagnostic>();
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        var marks = new Dictionary<string, SourceMark>(StringComparer.Ordinal);
        Walk(root, "", values, marks, errors);

        foreach (var def in SpecSchema.Fields)
            values.TryAdd(def.Path, def.Default);

        if (errors.Count == 0) CrossCheck(reference, origin, values, marks, errors);
        if (errors.Count > 0) throw new SpecException(errors);
        var name = (string)values["name"]!;
        return new ExperimentSpec(reference, name, values, marks, origin);
    }

    private static void Walk(
        SpecMapping map, string group,
        Dictionary<string, object?> values, Dictionary<string, SourceMark> marks, List<SpecDiagnostic> errors)
    {
        foreach (var entry in map.Entries)
        {
            var path = group.Length == 0 ? entry.Key : $"{group}.{entry.Key}";
            if (SpecSchema.Groups.Contains(path))
            {
                marks[path] = entry.KeyMark;
                if (entry.Value is SpecMapping inner) Walk(inner, path, values, marks, errors);
                else if (entry.Value is not SpecScalar { IsNull: true })
                    errors.Add(new(entry.Value.Mark, $"'{path}' must be a mapping of fields.",
                        $"indent its fields under it, e.g. '{path}:' then '  {SpecSchema.KeysAt(path).First()}: ...'."));
                continue;
            }
            var def = SpecSchema.Find(path);
            if (def is null)
            {
                errors.Add(new(entry.KeyMark, $"unknown field '{path}'.", UnknownFix(group, entry.Key)));
                continue;
            }
            BindLeaf(def, entry, values, marks, errors);
        }
    }

    private static void BindLeaf(
        FieldDef def, SpecEntry entry,
        Dictionary<string, object?> values, Dictionary<string, SourceMark> marks, List<SpecDiagnostic> errors)
    {
        var node = entry.Value;
        if (node is SpecScalar { IsNull: true }) return;
        if (def.Kind == FieldKind.IntList)
        {
            BindIntList(def, node, values, marks, errors);
            return;
        }
        if (def.Kind == FieldKind.ChoiceList)
        {
            if (node is not SpecSequence seq)
            {
                errors.Add(new(node.Mark, $"'{def.Path}' must be a list.", $"write it as [{string.Join(", ", def.Words.Take(2))}]."));
                return;
            }
            var items = new List<string>();
            foreach (var item in seq.Items)
            {
                if (item is SpecScalar s && s.Value is { } v && def.Words.Contains(v))
                {
                    if (items.Contains(v)) errors.Add(new(item.Mark, $"'{v}' is listed twice in '{def.Path}'.", "list each once."));
                    else items.Add(v);
                }
                else
                {
                    errors.Add(new(item.Mark, $"'{(item as SpecScalar)?.Value}' is not one of {string.Join(", ", def.Words)}.",
                        $"use only {string.Join(", ", def.Words)} in '{def.Path}'."));
                }
            }
            values[def.Path] = items.ToArray();
            marks[def.Path] = node.Mark;
            return;
        }
        if (node is not SpecScalar scalar)
        {
            errors.Add(new(node.Mark, $"'{def.Path}' must be a single value, not a {(node is SpecSequence ? "list" : "mapping")}.",
                $"write '{def.Path.Split('.')[^1]}: <value>' ({def.Help})."));
            return;
        }
        var value = SpecSchema.ParseScalar(def, scalar, out var error);
        if (error is not null)
        {
            errors.Add(new(scalar.Mark, $"{error} (field '{def.Path}').", $"set '{def.Path}' to {def.Help}."));
            return;
        }
        values[def.Path] = value;
        marks[def.Path] = scalar.Mark;
    }

    // A list of distinct integers, each within the field's range (e.g. interventions.top_k: [1, 3, 10, 20]).
    private static void BindIntList(
        FieldDef def, SpecNode node,
        Dictionary<string, object?> values, Dictionary<string, SourceMark> marks, List<SpecDiagnostic> errors)
    {
        if (node is not SpecSequence seq)
        {
            errors.Add(new(node.Mark, $"'{def.Path}' must be a list of integers.", $"write it as [1, 3, 10] ({def.Help})."));
            return;
        }
        var items = new List<long>();
        foreach (var item in seq.Items)
        {
            string? error = "a list item must be a single integer";
            var value = item is SpecScalar s ? SpecSchema.ParseScalar(def with { Kind = FieldKind.Int, Words = [] }, s, out error) : null;
            if (value is not long n)
                errors.Add(new(item.Mark, $"{error} (field '{def.Path}').", $"set '{def.Path}' to a list of integers: {def.Help}."));
            else if (items.Contains(n)) errors.Add(new(item.Mark, $"{n} is listed twice in '{def.Path}'.", "list each value once."));
            else items.Add(n);
        }
        values[def.Path] = items.ToArray();
        marks[def.Path] = node.Mark;
    }

    private static void CrossCheck(
        string reference, SourceMark origin,
        Dictionary<string, object?> values, Dictionary<string, SourceMark> marks, List<SpecDiagnostic> errors)
    {
        SourceMark At(string path) => marks.TryGetValue(path, out var m) ? m
            : path.Contains('.') && marks.TryGetValue(path[..path.LastIndexOf('.')], out var g) ? g : origin;

        CheckName(reference, origin, values, marks, errors);
        InterventionFields.Check(values, At, marks, errors);
        Phase4Fields.Check(values, At, errors);
        if (values["model.arch"] is null)
        {
            errors.Add(new(At("model.arch"), "the spec does not say which architecture the model has.",
                "add 'model:' with 'arch: llama' or 'arch: gpt2'."));
        }
        if ((string)values["model.source"]! == "checkpoint" && string.IsNullOrEmpty(values["model.path"] as string))
        {
            errors.Add(new(At("model.path"), "'model.path' is required when model.source is 'checkpoint'.",
                "set 'model.path' to the CODI checkpoint folder (e.g. ~/codi_ckpt/llama_gsm8k), "
                + "or use 'source: generated' for a tiny random model."));
        }

        // A failure budget is a whole count of problems, or a share of the sample below 1; 2.5 problems means neither.
        if (values["extraction.max_failures"] is double failures && failures >= 1 && failures != Math.Floor(failures))
        {
            errors.Add(new(At("extraction.max_failures"), $"{failures.ToString(System.Globalization.CultureInfo.InvariantCulture)} "
                + "is neither a count of problems nor a fraction below 1.",
                $"write a whole count such as {Math.Floor(failures).ToString(System.Globalization.CultureInfo.InvariantCulture)}, "
                + "or a fraction of the sample such as 0.05 (5%)."));
        }

        var source = (string)values["dataset.source"]!;
        if (source == "gsm8k")
        {
            var split = (string)values["dataset.split"]!;
            if (values["dataset.path"] is null)
            {
                values["dataset.path"] = $"gsm8k/{split}.jsonl";
                if (values["dataset.sha256"] is null) values["dataset.sha256"] = SpecSchema.OfficialGsm8kSha256[split];
            }
        }
        else if (values["dataset.sample"] is long sample && sample > (long)values["dataset.size"]!)
        {
            errors.Add(new(At("dataset.sample"), $"cannot sample {sample} problems from a synthetic set of {values["dataset.size"]}.",
                "lower 'dataset.sample' or raise 'dataset.size'."));
        }
        else if (marks.ContainsKey("dataset.path") || marks.ContainsKey("dataset.sha256"))
        {
            var path = marks.ContainsKey("dataset.path") ? "dataset.path" : "dataset.sha256";
            errors.Add(new(At(path), $"'{path}' has no meaning for a synthetic dataset.", "remove it, or set 'dataset.source: gsm8k'."));
        }
    }

    /// <summary>The name defaults to the file name; either way it must not be one the harness keeps for itself.</summary>
    private static void CheckName(
        string reference, SourceMark origin,
        Dictionary<string, object?> values, Dictionary<string, SourceMark> marks, List<SpecDiagnostic> errors)
    {
        var fromFile = values["name"] is null;
        if (fromFile)
        {
            var stem = SpecLoader.IsEmbedded(reference)
                ? reference[SpecLoader.DefaultPrefix.Length..]
                : Path.GetFileNameWithoutExtension(reference);
            if (!SpecSchema.NamePattern().IsMatch(stem))
            {
                errors.Add(new(origin, $"the spec has no 'name' and its file name '{stem}' is not a valid one.",
                    "add 'name: my-experiment' (lowercase letters, digits, '-')."));
                return;
            }
            values["name"] = stem;
        }
        var name = (string)values["name"]!;
        if (!SpecSchema.ReservedNames.TryGetValue(name, out var why)) return;
        var reserved = string.Join(", ", SpecSchema.ReservedNames.Keys);
        errors.Add(fromFile
            ? new(origin, $"the spec has no 'name' and its file name '{name}' is reserved: {why}; an experiment named '{name}' "
                + "would write into that folder and 'clean' would delete it.",
                $"add 'name: {name}-1' (or any name other than {reserved}), or rename the file.")
            : new(marks["name"], $"the experiment name '{name}' is reserved: {why}; an experiment named '{name}' "
                + "would write into that folder and 'clean' would delete it.",
                $"choose another name, e.g. 'name: {name}-1' (reserved: {reserved})."));
    }

    private static string UnknownFix(string group, string key)
    {
        var candidates = SpecSchema.KeysAt(group).ToList();
        var best = candidates.OrderBy(c => Distance(c, key)).FirstOrDefault();
        var where = group.Length == 0 ? "at the top level" : $"under '{group}'";
        var list = string.Join(", ", candidates);
        return best is not null && Distance(best, key) <= Math.Max(2, key.Length / 3)
            ? $"did you mean '{best}'? Fields {where}: {list}."
            : $"remove it; fields {where}: {list}.";
    }

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}
