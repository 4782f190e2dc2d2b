namespace CodiLab.Pipeline.Engine;

/// <summary>
/// The rehash half of <c>codilab verify</c>: every cache entry against its manifest (corrupt ones quarantined), every
/// readable view against its lock file (edited files restored from the cache, or flagged), and with <c>--deep</c> every
/// memoised external input (checkpoint files) rehashed regardless of its stamp.
/// </summary>
public static class Rehash
{
    /// <summary>
    /// Runs the checks, writes one line per problem to <paramref name="error"/> and a summary to <paramref name="output"/>.
    /// </summary>
    /// <returns>0 when all was intact or has been restored; <see cref="ExitCodes.Corrupt"/> otherwise.</returns>
    public static int Run(PipelineEnvironment env, bool deep, TextWriter output, TextWriter error)
    {
        var cache = new ArtifactCache(env.CacheRoot);
        var results = cache.Verify();
        foreach (var r in results.Where(r => r.Problem is not null))
        {
            error.WriteLine($"{Path.Combine(env.CacheRoot, r.Key)}: error: corrupt cache entry "
                + $"(stage {r.Stage ?? "?"}): {r.Problem}. Moved to cache/.corrupt; the next run rebuilds it.");
        }
        var bad = results.Count(r => r.Problem is not null);
        output.WriteLine($"verify: {results.Count} cache entries checked, {results.Count - bad} intact, {bad} corrupt");

        var views = ViewCheck.VerifyAll(env, cache);
        foreach (var v in views)
        {
            error.WriteLine(v.Restored
                ? $"{v.Path}: warning: view differed from the lock file ({v.Problem})."
                : v.Path.EndsWith("lock.json", StringComparison.Ordinal)
                    ? $"{v.Path}: error: {v.Problem} Its views cannot be checked. Fix: {v.Fix}"
                    : $"{v.Path}: error: view differs from the lock file ({v.Problem}). Fix: {v.Fix}");
        }
        var flagged = views.Count(v => !v.Restored);
        output.WriteLine($"verify: views: {views.Count - flagged} restored from the cache, {flagged} could not be restored");

        var drifted = 0;
        if (deep)
        {
            var drift = FileHashMemo.Recheck(env.CacheRoot, out var files);
            foreach (var d in drift)
            {
                error.WriteLine($"{d.Path}: warning: input changed since it was last hashed (SHA-256 {Short(d.Remembered)}… → "
                    + $"{Short(d.Actual)}…); stages reading it are stale and rerun.");
            }
            drifted = drift.Count;
            output.WriteLine($"verify: --deep: {files} external input files rehashed, {drifted} changed");
        }
        return bad == 0 && flagged == 0 ? 0 : ExitCodes.Corrupt;
    }

    private static string Short(string hash) => hash.Length > 12 ? hash[..12] : hash;
}
