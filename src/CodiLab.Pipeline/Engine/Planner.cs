using CodiLab.Specs;

namespace CodiLab.Pipeline.Engine;

/// <summary>Where a stage stands.</summary>
public enum StageState
{
    /// <summary>An entry with the stage's key is in the cache.</summary>
    Cached,
    /// <summary>It ran before with other fields or inputs (or its entry is gone).</summary>
    Stale,
    /// <summary>It never ran for this experiment.</summary>
    Missing,
    /// <summary>An external input is missing or wrong; it cannot run until that is fixed.</summary>
    Blocked,
}

/// <summary>A stage's state, the reason for it, and (when its inputs are known) its cache key.</summary>
public sealed record StagePlan(
    Stage Stage,
    StageState State,
    string? Reason,
    string? Key,
    object Parameters,
    SortedDictionary<string, string> Fields,
    SortedDictionary<string, string> Inputs,
    IReadOnlyList<ExternalInput> Externals,
    CacheManifest? Entry,
    CodiLabException? Blocker)
{
    /// <summary>The key material and lock entry of a stage whose inputs are all known.</summary>
    public StageFingerprint Fingerprint(string harness) => new(harness, Stage.Name, Stage.Version, Fields, Inputs);

    /// <summary>View files (relative to the experiment folder) that differ from the cache entry: edited by hand.</summary>
    public IReadOnlyList<string> EditedViews { get; init; } = [];

    /// <summary>The one-line status shown by <c>codilab plan</c>.</summary>
    public string Status => State switch
    {
        StageState.Cached when EditedViews.Count > 0 => $"edited: {string.Join(", ", EditedViews)} (the next run restores it)",
        StageState.Cached => "cached",
        StageState.Missing => Reason is null ? "missing" : $"missing ({Reason})",
        StageState.Stale => $"stale: {Reason}",
        _ => $"blocked: {Reason}",
    };
}

/// <summary>Computes keys and states for a spec's stages, in dependency order, without running anything.</summary>
public static class Planner
{
    /// <summary>Plans the given stages (which must be closed under <see cref="Stage.Upstream"/> and in dependency order).</summary>
    public static IReadOnlyList<StagePlan> Plan(
        ExperimentSpec spec, IReadOnlyList<Stage> stages, PipelineEnvironment env, LockFile lockFile, ArtifactCache cache)
    {
        var plans = new Dictionary<string, StagePlan>(StringComparer.Ordinal);
        var result = new List<StagePlan>();
        foreach (var stage in stages)
        {
            var plan = PlanOne(spec, stage, env, lockFile.Stages.GetValueOrDefault(stage.Name), cache, plans);
            plans[stage.Name] = plan;
            result.Add(plan);
        }
        return result;
    }

    /// <summary>Plans one stage given the plans of its upstream stages (which must all be present).</summary>
    public static StagePlan PlanOne(
        ExperimentSpec spec, Stage stage, PipelineEnvironment env, LockedStage? locked, ArtifactCache cache,
        IReadOnlyDictionary<string, StagePlan> upstream)
    {
        var parameters = stage.Parameters(spec);
        var fields = SpecCanonical.Fields(parameters);
        var reasons = new List<string>();
        if (locked is not null)
        {
            foreach (var (path, value) in fields)
            {
                var old = locked.Fields.GetValueOrDefault(path);
                if (old != value) reasons.Add($"param {path} {old ?? "(unset)"}→{value}");
            }
        }

        var inputs = new SortedDictionary<string, string>(StringComparer.Ordinal);
        IReadOnlyList<ExternalInput> externals = [];
        try
        {
            externals = stage.Externals(spec, env);
        }
        catch (CodiLabException e)
        {
            return new StagePlan(stage, StageState.Blocked, e.What, null, parameters, fields, inputs, externals, null, e);
        }
        foreach (var x in externals) inputs[x.Name] = x.Hash;

        var notReady = stage.Upstream.Where(u => upstream[u].State != StageState.Cached).ToList();
        if (notReady.Count > 0)
        {
            reasons.AddRange(notReady.Select(u => $"upstream {u}"));
            return locked is null
                ? new StagePlan(stage, StageState.Missing, null, null, parameters, fields, inputs, externals, null, null)
                : new StagePlan(
                    stage, StageState.Stale, string.Join("; ", reasons), null, parameters, fields, inputs, externals, null, null);
        }
        foreach (var u in stage.Upstream)
            foreach (var (file, digest) in upstream[u].Entry!.Files)
                inputs[$"{u}/{file}"] = digest.Sha256;

        var key = new StageFingerprint(env.HarnessVersion, stage.Name, stage.Version, fields, inputs).Key;
        var entry = cache.TryOpen(key);
        if (entry is not null)
            return new StagePlan(stage, StageState.Cached, null, key, parameters, fields, inputs, externals, entry, null);
        if (locked is null) return new StagePlan(stage, StageState.Missing, null, key, parameters, fields, inputs, externals, null, null);

        foreach (var (name, hash) in inputs)
        {
            var old = locked.Inputs.GetValueOrDefault(name);
            if (old == hash) continue;
            var slash = name.IndexOf('/');
            var reason = slash > 0 ? $"upstream {name[..slash]}" : $"input {name} {Short(old)}→{Short(hash)}";
            if (!reasons.Contains(reason)) reasons.Add(reason);
        }
        if (locked.Version != stage.Version) reasons.Add($"stage version {locked.Version}→{stage.Version}");
        if (locked.Harness != env.HarnessVersion) reasons.Add($"harness {locked.Harness}→{env.HarnessVersion}");
        if (reasons.Count == 0) reasons.Add("cache entry missing (removed, or found corrupt by verify)");
        return new StagePlan(stage, StageState.Stale, string.Join("; ", reasons), key, parameters, fields, inputs, externals, null, null);
    }

    private static string Short(string? hash) => hash is null ? "(none)" : hash.Length > 12 ? hash[..12] : hash;
}
