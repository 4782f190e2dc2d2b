using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using CodiLab.Specs;

namespace CodiLab.Pipeline.Engine;

/// <summary>What happened to one stage in a run.</summary>
public sealed record StageOutcome(string Stage, string Phase, bool Executed, string Key, double Seconds, IReadOnlyList<string> ViewFiles);

/// <summary>
/// Plans and runs a spec's stages: cached stages are only copied into the readable view, the others run into
/// a temporary folder that becomes their cache entry. The lock file is rewritten after every stage, so an
/// interrupted run keeps every stage it finished.
/// </summary>
/// <param name="env">Roots and log.</param>
/// <param name="catalog">
/// The stages of a spec: the product's catalogue (<c>StageCatalog.Runner</c> builds that runner), or a test's own graph.
/// </param>
public sealed class PipelineRunner(PipelineEnvironment env, Func<ExperimentSpec, IReadOnlyList<Stage>> catalog)
{
    private readonly ArtifactCache _cache = new(env.CacheRoot);
    private readonly Func<ExperimentSpec, IReadOnlyList<Stage>> _catalog = catalog;

    /// <summary>The cache this runner uses.</summary>
    public ArtifactCache Cache => _cache;

    /// <summary>Selects stages (a phase, one stage, or all of the spec's phases) plus everything upstream of them, in order.</summary>
    public IReadOnlyList<Stage> Select(ExperimentSpec spec, string? phase, string? stageName, out IReadOnlySet<string> targets)
    {
        var all = _catalog(spec);
        if (phase is not null && !SpecSchema.Find("phases")!.Words.Contains(phase))
        {
            throw new CodiLabException($"there is no phase '{phase}'.", spec.Reference,
                "use Phase1, Phase2, Phase3 or Phase4.", ExitCodes.InvalidSpec);
        }
        var chosen = all
            .Where(s => (phase is null || s.Phase == phase) && (stageName is null || s.Name == stageName))
            .Select(s => s.Name)
            .ToHashSet();
        if (stageName is not null && chosen.Count == 0)
        {
            var names = all.Where(s => phase is null || s.Phase == phase).Select(s => s.Name);
            var inPhase = phase is null ? "" : $" in {phase}";
            throw new CodiLabException($"experiment '{spec.Name}' has no stage '{stageName}'{inPhase}.", spec.Reference,
                $"use one of: {string.Join(", ", names)}.", ExitCodes.InvalidSpec);
        }
        if (phase is not null && chosen.Count == 0)
        {
            // Asked for a phase the spec does not run: nothing would happen, which must not pass for success.
            throw new CodiLabException($"experiment '{spec.Name}' has no stage in {phase}: its spec does not list {phase} under "
                + $"'phases:' (it runs {string.Join(", ", spec.Phases.Select(p => p.Word()))}).", spec.Reference,
                $"add {phase} to the spec's 'phases:' list, or ask for one of the phases it lists.", ExitCodes.InvalidSpec);
        }
        targets = chosen;
        var needed = new HashSet<string>(chosen);
        foreach (var stage in all.AsEnumerable().Reverse())
            if (needed.Contains(stage.Name)) needed.UnionWith(stage.Upstream);
        return all.Where(s => needed.Contains(s.Name)).ToList();
    }

    /// <summary>Plans without running or writing anything.</summary>
    public IReadOnlyList<StagePlan> Plan(ExperimentSpec spec, string? phase = null, string? stage = null)
    {
        var stages = Select(spec, phase, stage, out _);
        var root = env.ExperimentRoot(spec.Name);
        var lockFile = LockFile.Read(root, spec.Name, spec.Reference);
        // A cached stage whose readable copy was changed by hand says so; the next run restores it.
        return Planner.Plan(spec, stages, env, lockFile, _cache).Select(p =>
            p.State == StageState.Cached && lockFile.Stages.GetValueOrDefault(p.Stage.Name)?.Key == p.Key
                ? p with { EditedViews = ViewCheck.DifferencesByStamp(Path.Combine(root, p.Stage.Phase), p.Entry!, env.CacheRoot)
                    .Select(f => $"{p.Stage.Phase}/{f}").ToList() }
                : p).ToList();
    }

    /// <summary>Runs the selected stages; with <paramref name="force"/> the targeted ones rerun even if cached.</summary>
    public IReadOnlyList<StageOutcome> Run(
        ExperimentSpec spec, string? phase = null, string? stageName = null, bool force = false, TimeSpan? wait = null)
    {
        var owner = new Owner(spec.Name, env.ExperimentRoot(spec.Name), spec.Reference, spec, Flat: false);
        var stages = Select(spec, phase, stageName, out var targets);
        // Bad input (a missing dataset, a hash mismatch) fails here, before anything is written.
        foreach (var stage in stages) stage.Externals(spec, env);
        var (runLock, lockFile) = Open(owner, wait);
        using var held = runLock;
        var outcomes = new List<StageOutcome>();
        var plans = new Dictionary<string, StagePlan>(StringComparer.Ordinal);
        foreach (var stage in stages)
        {
            // Planned only now, after its upstream ran: its key depends on their output hashes.
            var plan = Planner.PlanOne(spec, stage, env, lockFile.Stages.GetValueOrDefault(stage.Name), _cache, plans);
            var outcome = RunPlanned(owner, plan, lockFile, rerun: force && targets.Contains(stage.Name), quiet: !targets.Contains(stage.Name));
            plans[stage.Name] = plan with { State = StageState.Cached, Entry = _cache.TryOpen(outcome.Key) };
            outcomes.Add(outcome);
        }
        return outcomes;
    }

    /// <summary>
    /// Runs one stage whose inputs are other experiments' outputs (its externals) and whose view is a folder of its
    /// own, e.g. a comparison: cached by the same key rule, committed to the same cache, with a lock entry and
    /// provenance in <paramref name="root"/>. <paramref name="spec"/> is only what the stage's closures are given.
    /// </summary>
    public StageOutcome RunDerived(string name, string root, string reference, Stage stage, ExperimentSpec spec, TimeSpan? wait = null)
    {
        var owner = new Owner(name, root, reference, spec, Flat: true);
        var (runLock, lockFile) = Open(owner, wait);
        using var held = runLock;
        var locked = lockFile.Stages.GetValueOrDefault(stage.Name);
        var plan = Planner.PlanOne(spec, stage, env, locked, _cache, new Dictionary<string, StagePlan>());
        return RunPlanned(owner, plan, lockFile, rerun: false);
    }

    // Who a stage runs for: the folder holding its lock file and provenance, and its view (Root/phase, or Root itself).
    private sealed record Owner(string Name, string Root, string Reference, ExperimentSpec Spec, bool Flat)
    {
        public string View(Stage stage) => Flat ? Root : Path.Combine(Root, stage.Phase);
    }

    // Takes the owner's run lock, clears temporary folders of killed runs, and reads its lock file.
    private (ExperimentLock Lock, LockFile File) Open(Owner owner, TimeSpan? wait)
    {
        var runLock = ExperimentLock.Acquire(owner.Root, owner.Name, wait ?? TimeSpan.Zero);
        _cache.RemoveAbandonedTempFolders();
        return (runLock, LockFile.Read(owner.Root, owner.Name, owner.Reference) with { Spec = owner.Reference });
    }

    // quiet: an upstream stage that is only reused says nothing (the stage asked for, and anything that ran, does), so a
    // `run --stage` per Cake task prints one line, not one per upstream stage.
    private StageOutcome RunPlanned(Owner owner, StagePlan plan, LockFile lockFile, bool rerun, bool quiet = false)
    {
        if (plan.Blocker is not null) throw plan.Blocker;
        var outcome = plan.State == StageState.Cached && !rerun ? Reuse(owner, plan, lockFile, quiet) : null;
        if (outcome is not null || plan.Key is null) return outcome ?? Execute(owner, plan, lockFile, replace: rerun);
        // Another experiment may be building the same key right now: wait for it, then reuse what it committed.
        using var keyLock = StageKeyLock.Acquire(env.CacheRoot, plan.Key, env.Log, owner.Name);
        if (!rerun && _cache.TryOpen(plan.Key) is { } committed)
            outcome = Reuse(owner, plan with { State = StageState.Cached, Entry = committed }, lockFile, quiet);
        return outcome ?? Execute(owner, plan, lockFile, replace: rerun);
    }

    private StageOutcome? Reuse(Owner owner, StagePlan plan, LockFile lockFile, bool quiet)
    {
        var view = owner.View(plan.Stage);
        var locked = lockFile.Stages.GetValueOrDefault(plan.Stage.Name);
        var edited = locked is not null && locked.Key == plan.Key ? ViewCheck.Differences(view, plan.Entry!) : null;
        if (edited is { Count: > 0 })
        {
            var names = string.Join(", ", edited.Select(f => Path.GetRelativePath(owner.Root, Path.Combine(view, f))));
            env.Log.WriteLine($"[{owner.Name}] {plan.Stage.Name}: {names} differed from the cache (edited by hand?); restored");
        }
        if (edited is not { Count: 0 })
        {
            if (!Materialize(plan, view))
            {
                env.Log.WriteLine(
                    $"[{owner.Name}] {plan.Stage.Name}: cache entry {plan.Key![..12]} is corrupt; moved to cache/.corrupt and rebuilding");
                _cache.Quarantine(plan.Key!);
                return null;
            }
            Record(owner, plan, plan.Entry!, lockFile);
        }
        if (!quiet) env.Log.WriteLine($"[{owner.Name}] {plan.Stage.Name}: cached ({plan.Key![..12]}) -> {Shown(view)}");
        return new StageOutcome(plan.Stage.Name, plan.Stage.Phase, false, plan.Key!, 0, ViewFiles(view, plan.Entry!));
    }

    private StageOutcome Execute(Owner owner, StagePlan plan, LockFile lockFile, bool replace)
    {
        var stage = plan.Stage;
        var key = plan.Key ?? throw new InvalidOperationException($"stage {stage.Name} has no key although its upstream ran");
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var temp = _cache.NewTempFolder();
        foreach (var upstream in stage.Upstream) VerifyBeforeUse(upstream, lockFile.Stages[upstream].Key);
        var upstreamDirs = stage.Upstream.ToDictionary(u => u, u => _cache.EntryPath(lockFile.Stages[u].Key));
        var context = new StageContext(owner.Spec, plan.Parameters, env, temp, upstreamDirs, plan.Externals.ToDictionary(x => x.Name), key);
        try
        {
            stage.Execute(context);
        }
        catch
        {
            Directory.Delete(temp, recursive: true);
            throw;
        }
        var manifest = _cache.Commit(temp, key, stage, replace);
        clock.Stop();
        if (Directory.Exists(context.ScratchDirectory)) Directory.Delete(context.ScratchDirectory, recursive: true);
        var view = owner.View(stage);
        if (!Materialize(plan with { Entry = manifest }, view))
            throw new InvalidOperationException($"the entry just written for {stage.Name} does not match its manifest");
        Record(owner, plan, manifest, lockFile);
        WriteProvenance(owner, stage.Name, key, started, clock.Elapsed.TotalSeconds);
        env.Log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"[{owner.Name}] {stage.Name}: ran in {clock.Elapsed.TotalSeconds:0.00} s ({key[..12]}) -> {Shown(view)}"));
        return new StageOutcome(stage.Name, stage.Phase, true, key, clock.Elapsed.TotalSeconds, ViewFiles(view, manifest));
    }

    // Bytes are checked where they are used: an upstream entry whose files no longer match its manifest (same size or
    // not) is quarantined and the run stops before anything is built on it, so nothing wrong is ever cached as right.
    private void VerifyBeforeUse(string upstream, string key)
    {
        if (_cache.Check(key, out _) is not { } problem) return;
        _cache.Quarantine(key);
        throw new CodiLabException($"corrupt cache entry: the '{upstream}' entry {key[..12]} no longer matches its manifest ({problem}); "
            + "it was moved to cache/.corrupt.", _cache.EntryPath(key),
            $"run again: the next run rebuilds '{upstream}' and what depends on it.", ExitCodes.Corrupt);
    }

    private void WriteProvenance(Owner owner, string stage, string key, DateTimeOffset started, double seconds)
    {
        var provenance = Provenance.Read(owner.Root, env.Log);
        provenance.Stages[stage] = new StageProvenance(key, started, DateTimeOffset.UtcNow, Math.Round(seconds, 3),
            Environment.MachineName, env.HarnessVersion, HarnessInfo.Harness, ExperimentRepository(owner.Reference),
            System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
            System.Runtime.InteropServices.RuntimeInformation.OSDescription);
        provenance.Write(owner.Root);
    }

    // The repository of the spec file (not of the current folder); none for embedded defaults and comparisons.
    private static GitState? ExperimentRepository(string reference) =>
        File.Exists(reference) ? HarnessInfo.Repository(Path.GetDirectoryName(Path.GetFullPath(reference))!) : null;

    /// <summary>A path as a user would type it: relative to the current folder when inside it, else as given.</summary>
    public static string Shown(string path)
    {
        var relative = Path.GetRelativePath(Directory.GetCurrentDirectory(), path);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? path : relative;
    }

    private static List<string> ViewFiles(string view, CacheManifest manifest) =>
        manifest.Files.Keys.Select(f => Path.Combine(view, f)).ToList();

    // Copies an entry's files into the readable view, rehashing on the way; false if the entry is corrupt.
    private bool Materialize(StagePlan plan, string view)
    {
        Directory.CreateDirectory(view);
        var entryDir = _cache.EntryPath(plan.Key!);
        foreach (var (file, digest) in plan.Entry!.Files)
        {
            var target = Path.Combine(view, file);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var temp = $"{target}.tmp-{Environment.ProcessId}";
            using (var source = File.OpenRead(Path.Combine(entryDir, file)))
            using (var sink = File.Create(temp))
            using (var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                var buffer = new byte[1 << 20];
                int read;
                while ((read = source.Read(buffer)) > 0)
                {
                    hasher.AppendData(buffer, 0, read);
                    sink.Write(buffer, 0, read);
                }
                if (Convert.ToHexStringLower(hasher.GetHashAndReset()) != digest.Sha256)
                {
                    sink.Dispose();
                    File.Delete(temp);
                    return false;
                }
            }
            File.Move(temp, target, overwrite: true);
        }
        return true;
    }

    private void Record(Owner owner, StagePlan plan, CacheManifest manifest, LockFile lockFile)
    {
        lockFile.Stages[plan.Stage.Name] = plan.Fingerprint(env.HarnessVersion).LockEntry(plan.Stage.Phase, manifest);
        lockFile.Write(owner.Root);
    }
}
