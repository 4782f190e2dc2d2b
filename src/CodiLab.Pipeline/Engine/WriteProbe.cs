namespace CodiLab.Pipeline.Engine;

/// <summary>
/// Tells a read-only folder (or file system) apart from a busy one: both make opening a lock file fail with an I/O error,
/// but only one of them is fixed by waiting.
/// </summary>
public static class WriteProbe
{
    /// <summary>True when nothing can be created in <paramref name="folder"/> (or its nearest existing parent).</summary>
    public static bool IsReadOnly(string folder)
    {
        var dir = Path.GetFullPath(folder);
        while (!Directory.Exists(dir))
        {
            var parent = Path.GetDirectoryName(dir);
            if (parent is null) return true;
            dir = parent;
        }
        var probe = Path.Combine(dir, $".write-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (File.Create(probe, 1, FileOptions.DeleteOnClose))
            {
            }
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>The one-paragraph error for a folder the harness must write to but cannot.</summary>
    public static CodiLabException ReadOnlyError(string folder, Exception? cause = null) => new(
        $"the artifacts folder cannot be written ({cause?.Message ?? "read-only"}); CodiLab keeps its cache, lock files and views there.",
        folder,
        "make the folder writable (chmod u+w, or remount the file system read-write), or point CODILAB_ARTIFACTS at a writable folder.",
        ExitCodes.BadInput, cause);
}
