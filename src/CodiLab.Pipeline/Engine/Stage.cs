using CodiLab.Specs;

namespace CodiLab.Pipeline.Engine;

/// <summary>An input from outside the cache (a dataset file, a checkpoint folder), identified by its content hash.</summary>
public sealed record ExternalInput(string Name, string Hash, string? Path);

/// <summary>
/// A stage is a value: its name and version, the typed parameters it takes from the spec, the stages whose outputs
/// it consumes, its external inputs and the files it writes. Its cache key is derived from exactly these (plus the
/// harness version); nothing else decides whether it is fresh, and its code receives nothing from the spec but its
/// parameters record.
/// </summary>
/// <param name="Name">Stage name, unique within a spec (e.g. <c>sample</c>).</param>
/// <param name="Phase">The phase it belongs to (its outputs are shown under <c>artifacts/&lt;experiment&gt;/&lt;phase&gt;/</c>).</param>
/// <param name="Version">Bump when the stage's code changes what it writes.</param>
/// <param name="Parameters">
/// Builds the stage's parameters record from a spec; its <see cref="SpecFieldAttribute"/> properties are the key's field material.
/// </param>
/// <param name="Upstream">Stages whose output files are inputs.</param>
/// <param name="Outputs">The files the stage writes.</param>
/// <param name="Externals">
/// Resolves and hashes external inputs; throws a <see cref="CodiLabException"/> when one is missing or wrong.
/// </param>
/// <param name="Execute">Does the work, writing every output under <see cref="StageContext.OutputDirectory"/>.</param>
public sealed record Stage(
    string Name,
    string Phase,
    int Version,
    Func<ExperimentSpec, object> Parameters,
    IReadOnlyList<string> Upstream,
    IReadOnlyList<string> Outputs,
    Func<ExperimentSpec, PipelineEnvironment, IReadOnlyList<ExternalInput>> Externals,
    Action<StageContext> Execute)
{
    /// <summary>A stage whose code receives its parameters record typed.</summary>
    public static Stage Create<TParams>(
        string name, string phase, int version, Func<ExperimentSpec, TParams> parameters, IReadOnlyList<string> upstream,
        IReadOnlyList<string> outputs, Action<StageContext, TParams> execute,
        Func<ExperimentSpec, PipelineEnvironment, IReadOnlyList<ExternalInput>>? externals = null) where TParams : class =>
        new(name, phase, version, parameters, upstream, outputs, externals ?? NoExternals, ctx => execute(ctx, (TParams)ctx.Parameters));

    /// <summary>For stages that read nothing from outside the cache.</summary>
    public static IReadOnlyList<ExternalInput> NoExternals(ExperimentSpec spec, PipelineEnvironment env) => [];
}

/// <summary>Where a run reads and writes, and what it reports to.</summary>
public sealed record PipelineEnvironment(string ArtifactsRoot, string DataRoot, TextWriter Log, string HarnessVersion)
{
    /// <summary>How long work shows how far it is (default: plain periodic lines on <see cref="Log"/>).</summary>
    public ProgressReporter Progress { get; init; } = new PlainProgress(Log);

    /// <summary>The shared content-addressed cache.</summary>
    public string CacheRoot => Path.Combine(ArtifactsRoot, "cache");

    /// <summary>One experiment's readable folder (lock, provenance, per-phase views).</summary>
    public string ExperimentRoot(string experiment) => Path.Combine(ArtifactsRoot, experiment);

    /// <summary>The usual environment: <c>CODILAB_ARTIFACTS</c> or ./artifacts, <c>CODILAB_DATA_DIR</c> or artifacts/data.</summary>
    public static PipelineEnvironment FromEnvironment(TextWriter log, string? artifactsRoot = null)
    {
        var artifacts = Path.GetFullPath(ArtifactsFolder(artifactsRoot));
        var data = Environment.GetEnvironmentVariable("CODILAB_DATA_DIR");
        var dataRoot = Path.GetFullPath(string.IsNullOrEmpty(data) ? Path.Combine(artifacts, "data") : data);
        return new PipelineEnvironment(artifacts, dataRoot, log, HarnessInfo.Version);
    }

    // The artifacts folder as named; a name that is set but blank, or a file, is refused rather than guessed at.
    private static string ArtifactsFolder(string? option)
    {
        var named = option ?? Environment.GetEnvironmentVariable("CODILAB_ARTIFACTS");
        var where = option is null ? "CODILAB_ARTIFACTS" : "--artifacts";
        if (named is null) return "artifacts";
        if (string.IsNullOrWhiteSpace(named))
        {
            throw new CodiLabException($"{where} is set but empty, so there is no artifacts folder to use.", where,
                option is null ? "unset it (unset CODILAB_ARTIFACTS) to use ./artifacts, or set it to a folder."
                    : "give a folder after --artifacts, or leave the option out to use $CODILAB_ARTIFACTS or ./artifacts.",
                ExitCodes.InvalidSpec);
        }
        if (File.Exists(named))
        {
            throw new CodiLabException($"the artifacts folder {named} is a file.", where,
                "name a folder (it is created if missing) for the cache, lock files and views.", ExitCodes.BadInput);
        }
        return named;
    }
}

/// <summary>What a running stage sees.</summary>
public sealed class StageContext
{
    private readonly ExperimentSpec _spec;

    internal StageContext(ExperimentSpec spec, object parameters, PipelineEnvironment environment, string outputDirectory,
        IReadOnlyDictionary<string, string> upstreamDirectories, IReadOnlyDictionary<string, ExternalInput> externals, string key)
    {
        Key = key;
        ScratchDirectory = Path.Combine(environment.CacheRoot, ".partial", key);
        _spec = spec;
        Parameters = parameters;
        Environment = environment;
        OutputDirectory = outputDirectory;
        UpstreamDirectories = upstreamDirectories;
        Externals = externals;
    }

    /// <summary>The stage's cache key.</summary>
    public string Key { get; }

    /// <summary>
    /// A folder that survives an interrupted run of this very stage (same key): long stages keep finished shards
    /// there and resume from them. Removed once the entry is committed.
    /// </summary>
    public string ScratchDirectory { get; }

    /// <summary>The stage's parameters record (what its key was built from).</summary>
    public object Parameters { get; }

    /// <summary>The experiment's name, for log lines (not part of the key unless a stage declares <c>name</c>).</summary>
    public string Experiment => _spec.Name;

    /// <summary>Where a spec field was written, for error messages only.</summary>
    public string Where(string path) => _spec.MarkOf(path).ToString();

    /// <summary>Roots and log.</summary>
    public PipelineEnvironment Environment { get; }

    /// <summary>A fresh temporary folder; it becomes the cache entry once the stage returns.</summary>
    public string OutputDirectory { get; }

    /// <summary>Cache entry folders of the upstream stages.</summary>
    public IReadOnlyDictionary<string, string> UpstreamDirectories { get; }

    /// <summary>Resolved external inputs, by name.</summary>
    public IReadOnlyDictionary<string, ExternalInput> Externals { get; }

    /// <summary>Path of one output file.</summary>
    public string Output(string file)
    {
        var path = Path.Combine(OutputDirectory, file);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }

    /// <summary>Path of an upstream stage's output file.</summary>
    public string Input(string stage, string file) => Path.Combine(UpstreamDirectories[stage], file);
}
