namespace CodiLab.Pipeline.Engine;

/// <summary>
/// Write protection for committed cache entries: their files (and folders) are made read-only, so a stray editor or
/// script cannot change them in place. The harness's own moves and deletions (quarantine, forced rebuilds, clean,
/// abandoned temporary folders) unlock what they touch first. Root ignores these bits; the rehash checks still hold.
/// </summary>
public static class ReadOnlyTree
{
    private const UnixFileMode Writes = UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;
    private const UnixFileMode Owner = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Makes every file under <paramref name="folder"/> read-only; with <paramref name="folders"/> the folders too.</summary>
    public static void Seal(string folder, bool folders = true)
    {
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)) SealFile(file);
        if (!folders) return;
        // Deepest first: once a folder is read-only nothing inside it can be renamed or removed any more.
        foreach (var dir in Directory.EnumerateDirectories(folder, "*", SearchOption.AllDirectories).OrderByDescending(d => d.Length))
            SealFolder(dir);
        SealFolder(folder);
    }

    /// <summary>Makes a file read-only.</summary>
    public static void SealFile(string file)
    {
        if (OperatingSystem.IsWindows())
            File.SetAttributes(file, File.GetAttributes(file) | FileAttributes.ReadOnly);
        else
            File.SetUnixFileMode(file, File.GetUnixFileMode(file) & ~Writes);
    }

    /// <summary>True when the file or folder cannot be written by its owner (a sealed entry).</summary>
    public static bool IsSealed(string path) => OperatingSystem.IsWindows()
        ? File.GetAttributes(path).HasFlag(FileAttributes.ReadOnly)
        : (File.GetUnixFileMode(path) & UnixFileMode.UserWrite) == 0;

    /// <summary>
    /// Makes <paramref name="folder"/> and the folders inside it writable again (files stay read-only: on Unix a file's
    /// own bits do not stop it being renamed or removed), so the tree can be moved or deleted.
    /// </summary>
    public static void Unlock(string folder)
    {
        if (!Directory.Exists(folder)) return;
        UnlockFolder(folder);
        foreach (var dir in Directory.EnumerateDirectories(folder, "*", SearchOption.AllDirectories)) UnlockFolder(dir);
        if (!OperatingSystem.IsWindows()) return;
        // Windows refuses to delete a read-only file.
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
            File.SetAttributes(file, File.GetAttributes(file) & ~FileAttributes.ReadOnly);
    }

    /// <summary>Deletes a folder tree, sealed or not.</summary>
    public static void Delete(string folder)
    {
        Unlock(folder);
        Directory.Delete(folder, recursive: true);
    }

    /// <summary>Moves a folder tree, sealed or not, and seals its folders again at the new place.</summary>
    public static void Move(string from, string to, bool sealAgain)
    {
        Unlock(from);
        Directory.Move(from, to);
        if (sealAgain) Seal(to);
    }

    private static void SealFolder(string dir)
    {
        if (OperatingSystem.IsWindows()) return; // a Windows folder's read-only flag does not stop changes inside it
        File.SetUnixFileMode(dir, File.GetUnixFileMode(dir) & ~Writes);
    }

    private static void UnlockFolder(string dir)
    {
        if (OperatingSystem.IsWindows()) return;
        var mode = File.GetUnixFileMode(dir);
        if ((mode & Owner) != Owner) File.SetUnixFileMode(dir, mode | Owner);
    }
}
