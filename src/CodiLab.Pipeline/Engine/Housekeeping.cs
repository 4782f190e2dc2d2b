namespace CodiLab.Pipeline.Engine;

/// <summary>Removing experiment folders and the cache (never the data root).</summary>
public static class Housekeeping
{
    /// <summary>Deletes one experiment's readable folder (lock, provenance, views), holding its run lock meanwhile.</summary>
    public static bool CleanExperiment(PipelineEnvironment env, string experiment)
    {
        var root = env.ExperimentRoot(experiment);
        if (!Directory.Exists(root)) return false;
        using (ExperimentLock.Acquire(root, experiment, TimeSpan.Zero))
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(root).Where(e => Path.GetFileName(e) != ".run.lock"))
            {
                if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true);
                else File.Delete(entry);
            }
        }
        Directory.Delete(root, recursive: true);
        return true;
    }

    /// <summary>The experiment folders under the artifacts root (those holding a lock.json).</summary>
    public static IEnumerable<string> Experiments(PipelineEnvironment env) =>
        Directory.Exists(env.ArtifactsRoot)
            ? Directory.EnumerateDirectories(env.ArtifactsRoot)
                .Where(d => File.Exists(Path.Combine(d, "lock.json")))
                .Select(Path.GetFileName)
                .OfType<string>()
                .Order(StringComparer.Ordinal)
            : [];

    /// <summary>Deletes the whole cache (partial shards included) and every comparison.</summary>
    public static void CleanCache(PipelineEnvironment env)
    {
        if (Directory.Exists(env.CacheRoot)) Directory.Delete(env.CacheRoot, recursive: true);
        var compare = Path.Combine(env.ArtifactsRoot, "compare");
        if (Directory.Exists(compare)) Directory.Delete(compare, recursive: true);
    }
}
