using CodiLab.Specs;

namespace CodiLab.Pipeline.Engine;

/// <summary>An input from outside the cache (a dataset file, a checkpoint folder), identified by its content hash.</summary>
public sealed record ExternalInput(string Name, string Hash, string? Path);

/// <summary>
/// A stage is a value: its name and version, the spec fields it reads, the stages whose outputs it consumes,
/// its external inputs and the files it writes. Its cache key is derived from exactly these (plus the harness
/// version); nothing else decides whether it is fresh.
/// </summary>
/// <param name="Name">Stage name, unique within a spec (e.g. <c>sample</c>).</param>
/// <param name="Phase">The phase it belongs to (its outputs are shown under <c>artifacts/&lt;experiment&gt;/&lt;phase&gt;/</c>).</param>
/// <param name="Version">Bump when the stage's code changes what it writes.</param>
/// <param name="Reads">The spec fields that go into the key.</param>
/// <param name="Upstream">Stages whose output files are inputs.</param>
/// <param name="Outputs">The files the stage writes.</param>
/// <param name="Externals">Resolves and hashes external inputs; throws a <see cref="CodiLabException"/> when one is missing or wrong.</param>
/// <param name="Execute">Does the work, writing every output under <see cref="StageContext.OutputDirectory"/>.</param>
public sealed record Stage(
    string Name,
    string Phase,
    int Version,
    IReadOnlyList<string> Reads,
    IReadOnlyList<string> Upstream,
    IReadOnlyList<string> Outputs,
    Func<ExperimentSpec, PipelineEnvironment, IReadOnlyList<ExternalInput>> Externals,
    Action<StageContext> Execute);

/// <summary>Where a run reads and writes, and what it reports to.</summary>
public sealed record PipelineEnvironment(string ArtifactsRoot, string DataRoot, TextWriter Log, string HarnessVersion)
{
    /// <summary>The shared content-addressed cache.</summary>
    public string CacheRoot => Path.Combine(ArtifactsRoot, "cache");

    /// <summary>One experiment's readable folder (lock, provenance, per-phase views).</summary>
    public string ExperimentRoot(string experiment) => Path.Combine(ArtifactsRoot, experiment);

    /// <summary>The usual environment: <c>CODILAB_ARTIFACTS</c> or ./artifacts, <c>CODILAB_DATA_DIR</c> or artifacts/data.</summary>
    public static PipelineEnvironment FromEnvironment(TextWriter log, string? artifactsRoot = null)
    {
        var artifacts = Path.GetFullPath(artifactsRoot ?? Environment.GetEnvironmentVariable("CODILAB_ARTIFACTS") ?? "artifacts");
        var data = Environment.GetEnvironmentVariable("CODILAB_DATA_DIR");
        return new PipelineEnvironment(artifacts, Path.GetFullPath(string.IsNullOrEmpty(data) ? Path.Combine(artifacts, "data") : data), log, HarnessInfo.Version);
    }
}

/// <summary>What a running stage sees.</summary>
public sealed class StageContext
{
    internal StageContext(ExperimentSpec spec, PipelineEnvironment environment, string outputDirectory,
        IReadOnlyDictionary<string, string> upstreamDirectories, IReadOnlyDictionary<string, ExternalInput> externals, string key)
    {
        Key = key;
        ScratchDirectory = Path.Combine(environment.CacheRoot, ".partial", key);
        Spec = spec;
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

    /// <summary>The spec being run.</summary>
    public ExperimentSpec Spec { get; }

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
