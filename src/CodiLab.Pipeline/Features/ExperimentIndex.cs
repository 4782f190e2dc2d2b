using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CodiLab.Pipeline.Engine;
using CodiLab.Reports;

namespace CodiLab.Pipeline.Features;

/// <summary>
/// <c>codilab experiments</c>: one row per experiment folder under the artifacts root, read from what is already there
/// (lock.json, the canonical summaries and Phase 1 evidence, pins, the last audit); nothing is run. It also writes each
/// experiment's flat <c>params.json</c> and <c>metrics.json</c> (key → scalar, intervals as <c>KEY_ci_low</c> /
/// <c>KEY_ci_high</c>) for DVC, MLflow or pandas. Those two files are derived: they are not cache entries, lock.json does not
/// list them, <c>verify</c> does not check them, <c>clean</c> removes them with the experiment, and every
/// <c>codilab run</c>, <c>experiments</c> and <c>site</c> rewrites them (atomically) from the summaries.
/// </summary>
public static class ExperimentIndex
{
    /// <summary>Every spec field the experiment's stages last ran with (flat).</summary>
    public const string ParamsFile = "params.json";

    /// <summary>Every scalar of its canonical summaries and Phase 1 evidence (flat).</summary>
    public const string MetricsFile = "metrics.json";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    // Evidence parts that are per-problem data or prose, not metrics.
    private static readonly HashSet<string> EvidenceSkipped = ["per_problem", "problem_ids", "claims", "bootstrap"];

    /// <summary>The rows of every experiment under the artifacts root, refreshing each one's flat files on the way.</summary>
    public static IReadOnlyList<ExperimentRow> Collect(PipelineEnvironment env, string pins) =>
        Housekeeping.Experiments(env).Select(name => Refresh(env, name, pins)).ToList();

    /// <summary>Reads one experiment's row and (re)writes its <c>params.json</c> and <c>metrics.json</c>.</summary>
    public static ExperimentRow Refresh(PipelineEnvironment env, string experiment, string pins)
    {
        var root = env.ExperimentRoot(experiment);
        var lockFile = LockFile.Read(root, experiment, "");
        var cache = new ArtifactCache(env.CacheRoot);
        var metrics = Metrics(lockFile, root, cache);
        var parameters = Params(lockFile);
        if (lockFile.Stages.Count > 0)
        {
            Hashing.WriteAtomic(Path.Combine(root, ParamsFile), parameters.ToJsonString(Indented) + "\n");
            Hashing.WriteAtomic(Path.Combine(root, MetricsFile), JsonSerializer.Serialize(metrics, Indented) + "\n");
        }
        var stages = lockFile.Stages;
        var sample = stages.GetValueOrDefault("sample")?.Fields;
        var (model, modelHash) = Model(lockFile);
        var (pinned, pinState) = PinState(pins, experiment, lockFile);
        var (verified, at) = LastAudit(root);
        return new ExperimentRow(experiment, lockFile.Spec.Length > 0 ? lockFile.Spec : "–", model, modelHash,
            sample is null ? null : $"{sample.GetValueOrDefault("dataset.source")} {sample.GetValueOrDefault("dataset.split")}",
            sample?.GetValueOrDefault("dataset.sample"), PhasesDone(lockFile), pinned, pinState, verified, at, metrics);
    }

    /// <summary>
    /// The phases whose report ran (a stage writing a <c>*report*.md</c>), in phase order; a phase whose recorded stages no
    /// longer fit their upstream's outputs (an upstream stage reran since) is marked <c>(stale)</c>.
    /// </summary>
    public static IReadOnlyList<string> PhasesDone(LockFile lockFile)
    {
        var stale = lockFile.Stages.Where(s => !FitsUpstream(lockFile, s.Value)).Select(s => s.Value.Phase).ToHashSet();
        return lockFile.Stages.Values
            .Where(s => s.Outputs.Keys.Any(f => f.EndsWith(".md", StringComparison.Ordinal) && f.Contains("report", StringComparison.Ordinal)))
            .Select(s => s.Phase).Distinct().Order(StringComparer.Ordinal)
            .Select(p => stale.Contains(p) ? $"{p} (stale)" : p).ToList();
    }

    // A stage's inputs named "upstream/file" must hash to what the lock file records as that upstream's output.
    private static bool FitsUpstream(LockFile lockFile, LockedStage stage) =>
        stage.Inputs.All(input => input.Key.IndexOf('/', StringComparison.Ordinal) is var slash and > 0
            && lockFile.Stages.GetValueOrDefault(input.Key[..slash]) is { } upstream
            ? upstream.Outputs.GetValueOrDefault(input.Key[(slash + 1)..])?.Sha256 == input.Value
            : true);

    /// <summary>The model as pins name it: generated (hash of the model stage's file lines) or checkpoint (folder digest).</summary>
    private static (string? Source, string? Sha256) Model(LockFile lockFile)
    {
        if (lockFile.Stages.GetValueOrDefault("model") is { } model)
        {
            var lines = model.Outputs.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key} {f.Value.Sha256}");
            return ("generated", Hashing.Sha256(string.Join("\n", lines)));
        }
        return lockFile.Stages.GetValueOrDefault("extract")?.Inputs.GetValueOrDefault("model") is { } hash
            ? ("checkpoint", hash)
            : (null, null);
    }

    private static (IReadOnlyList<string> Phases, string State) PinState(string pins, string experiment, LockFile lockFile)
    {
        IReadOnlyList<(string Path, PinFile Pin)> found;
        try
        {
            found = Auditing.ReadPins(pins, experiment);
        }
        catch (CodiLabException)
        {
            return ([], "unreadable");
        }
        if (found.Count == 0) return ([], "none");
        // Per pinned phase: "not run" when one of its stages is not in lock.json (a phase this run never reached is not a
        // difference), "differs" when a stage ran with another key, else "current"; one word when all phases agree.
        var states = found.Select(p => (p.Pin.Phase, State:
            p.Pin.Stages.Any(s => !lockFile.Stages.ContainsKey(s.Key)) ? "not run"
            : p.Pin.Stages.All(s => lockFile.Stages[s.Key].Key == s.Value) ? "current" : "differs")).ToList();
        var state = states.Select(s => s.State).Distinct().Count() == 1
            ? states[0].State
            : string.Join("; ", states.GroupBy(s => s.State).Select(g => $"{string.Join(",", g.Select(s => s.Phase))} {g.Key}"));
        return (found.Select(p => p.Pin.Phase).ToList(), state);
    }

    private static (string Verdict, DateTimeOffset? At) LastAudit(string root)
    {
        var path = Path.Combine(root, "audit", Auditing.JsonFile);
        if (!File.Exists(path)) return ("never", null);
        try
        {
            var passed = JsonNode.Parse(File.ReadAllText(path))?["passed"]?.GetValue<bool>();
            return (passed switch { true => "pass", false => "drift", null => "unreadable" }, File.GetLastWriteTimeUtc(path));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return ("unreadable", File.GetLastWriteTimeUtc(path));
        }
    }

    /// <summary>params.json: experiment, spec, and every field any stage ran with, as a number, boolean, null or text.</summary>
    public static JsonObject Params(LockFile lockFile)
    {
        var fields = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var stage in lockFile.Stages.Values)
            foreach (var (field, value) in stage.Fields) fields[field] = value;
        var json = new JsonObject { ["experiment"] = lockFile.Experiment, ["spec"] = lockFile.Spec };
        foreach (var (field, value) in fields)
        {
            if (json.ContainsKey(field)) continue;
            json[field] = value switch
            {
                "null" => null,
                "true" => true,
                "false" => false,
                _ when long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) => n,
                _ when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) => d,
                _ => value,
            };
        }
        return json;
    }

    /// <summary>
    /// metrics.json: every number and boolean (1/0) of each phase's canonical summary (<c>phase1.seed.…</c>,
    /// <c>phase2.…</c>), and the Phase 1 evidence's scores (<c>phase1.evidence.…</c>: a score's measured value with its
    /// interval, its uniform expectation and ratio); arrays (tables) are left to the reports.
    /// </summary>
    private static SortedDictionary<string, double> Metrics(LockFile lockFile, string root, ArtifactCache cache)
    {
        var metrics = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var stage in lockFile.Stages.Values)
        {
            var view = Path.Combine(root, stage.Phase);
            var prefix = stage.Phase.ToLowerInvariant();
            foreach (var file in stage.Outputs.Keys)
            {
                var evidence = file == Artifacts.Phase1Files.Evidence;
                if (!evidence && !file.EndsWith(".canonical.json", StringComparison.Ordinal)) continue;
                if (Trusted(cache, view, stage, file) is not { } path || JsonNode.Parse(File.ReadAllText(path)) is not JsonObject json) continue;
                if (evidence)
                {
                    foreach (var (key, node) in json.Where(p => !EvidenceSkipped.Contains(p.Key))) Flatten($"{prefix}.evidence.{key}", node, metrics);
                    continue;
                }
                // A canonical summary wraps its body in the phase's own name ({"experiment", "phase2": {…}}): unwrapped.
                var body = json.Where(p => p.Key != "experiment").ToList();
                if (body is [var only] && only.Key == prefix) Flatten(prefix, only.Value, metrics);
                else foreach (var (key, node) in body) Flatten($"{prefix}.{key}", node, metrics);
            }
        }
        return metrics;
    }

    // The cache entry's copy when it hashes as the lock file says, else the view's when it does; else nothing (a hand edit
    // or a lost entry is never reported as a result: 'verify' says what is wrong).
    private static string? Trusted(ArtifactCache cache, string view, LockedStage stage, string file)
    {
        var digest = stage.Outputs[file];
        var entry = Path.Combine(cache.EntryPath(stage.Key), file);
        if (ViewCheck.Problem(entry, digest) is null) return entry;
        var copy = Path.Combine(view, file);
        return ViewCheck.Problem(copy, digest) is null ? copy : null;
    }

    /// <summary>
    /// Flat leaves under <paramref name="path"/>: numbers and booleans; an interval <c>{value, ci_low, ci_high}</c> as
    /// path, path_ci_low, path_ci_high; a score's <c>measured</c> interval at the score's own path.
    /// </summary>
    public static void Flatten(string path, JsonNode? node, IDictionary<string, double> into)
    {
        switch (node)
        {
            case JsonObject o when o.ContainsKey("value") && o.ContainsKey("ci_low") && o.ContainsKey("ci_high"):
                Scalar(path, o["value"], into);
                Scalar(path + "_ci_low", o["ci_low"], into);
                Scalar(path + "_ci_high", o["ci_high"], into);
                break;
            case JsonObject o:
                foreach (var (key, child) in o) Flatten(key == "measured" ? path : $"{path}.{key}", child, into);
                break;
            case JsonValue v:
                Scalar(path, v, into);
                break;
        }
    }

    private static void Scalar(string path, JsonNode? node, IDictionary<string, double> into)
    {
        if (node is not JsonValue v) return;
        if (v.GetValueKind() is JsonValueKind.True or JsonValueKind.False) into[path] = v.GetValue<bool>() ? 1 : 0;
        else if (v.GetValueKind() == JsonValueKind.Number && v.GetValue<double>() is var d && double.IsFinite(d)) into[path] = d;
    }

    /// <summary>The columns <c>--sort</c> takes besides metric keys (headline labels take their metric's key).</summary>
    public static readonly IReadOnlyList<string> SortFields = ["experiment", "spec", "model", "dataset", "sample", "phases", "pinned"];

    /// <summary>
    /// Rows sorted by <paramref name="field"/> (a column, a headline label or any metrics.json key; <c>:desc</c> reverses);
    /// rows lacking a metric go last. An unknown field is an argument error naming the choices.
    /// </summary>
    public static IReadOnlyList<ExperimentRow> Sort(IReadOnlyList<ExperimentRow> rows, string field)
    {
        var descending = field.EndsWith(":desc", StringComparison.Ordinal);
        var name = descending ? field[..^":desc".Length] : field.EndsWith(":asc", StringComparison.Ordinal) ? field[..^":asc".Length] : field;
        var key = SiteReport.Headlines.FirstOrDefault(h => h.Label == name)?.Key ?? name;
        Func<ExperimentRow, string?>? text = key switch
        {
            "experiment" => r => r.Experiment,
            "spec" => r => r.Spec,
            "model" => r => r.ModelSha256,
            "dataset" => r => r.Dataset,
            "sample" => r => r.Sample,
            "phases" => r => string.Join(",", r.Phases),
            "pinned" => r => SiteReport.PinCell(r),
            _ => null,
        };
        if (text is not null)
        {
            var known = rows.Where(r => text(r) is not null);
            var ordered = descending ? known.OrderByDescending(text, StringComparer.Ordinal) : known.OrderBy(text, StringComparer.Ordinal);
            return [.. ordered, .. rows.Where(r => text(r) is null)];
        }
        // A headline column is always a valid choice, even before any experiment has its metric (those rows go last).
        if (!rows.Any(r => r.Metrics.ContainsKey(key)) && !SiteReport.Headlines.Any(h => h.Key == key))
        {
            var labels = string.Join(", ", SiteReport.Headlines.Select(h => $"'{h.Label}'"));
            throw new CodiLabException($"--sort '{name}' is neither a column nor a metric of any experiment here.", "--sort",
                $"use one of {string.Join(", ", SortFields)}, {labels}, or a key of an experiment's metrics.json "
                + "(e.g. phase1.evidence.seed.avg_sequential); add ':desc' to reverse.", ExitCodes.InvalidSpec);
        }
        var present = rows.Where(r => r.Metrics.ContainsKey(key));
        var sorted = descending ? present.OrderByDescending(r => r.Metrics[key]) : present.OrderBy(r => r.Metrics[key]);
        return [.. sorted.ThenBy(r => r.Experiment, StringComparer.Ordinal), .. rows.Where(r => !r.Metrics.ContainsKey(key))];
    }
}
