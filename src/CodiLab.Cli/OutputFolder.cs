namespace CodiLab.Cli;

/// <summary>
/// A folder a command is about to fill (<c>make-model --out</c>): it must be absent or empty unless the user passed
/// <c>--force</c>, so a checkpoint folder is never overwritten by mistake.
/// </summary>
public sealed class OutputFolder
{
    private readonly string _path;
    private readonly Dictionary<string, DateTime> _before;

    private OutputFolder(string path, Dictionary<string, DateTime> before)
    {
        _path = path;
        _before = before;
    }

    /// <summary>
    /// Checks the folder before writing: a file in its place, or a non-empty folder without <paramref name="force"/>, is an
    /// error (<see cref="ExitCodes.BadInput"/>). Remembers the files already there, for <see cref="KeptFiles"/>.
    /// </summary>
    public static OutputFolder Claim(string path, bool force)
    {
        if (File.Exists(path))
            throw new CodiLabException("a file is in the place of the output folder.", path,
                "choose a folder path (absent or empty).", ExitCodes.BadInput);
        var before = new Dictionary<string, DateTime>(StringComparer.Ordinal);
        if (!Directory.Exists(path)) return new OutputFolder(path, before);
        var entries = Directory.EnumerateFileSystemEntries(path).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        if (entries.Count > 0 && !force)
        {
            var shown = string.Join(", ", entries.Take(5)) + (entries.Count > 5 ? ", …" : "");
            throw new CodiLabException($"the output folder is not empty ({entries.Count} entries: {shown}); writing would "
                + "replace what is there, e.g. a checkpoint's weights.", path,
                "choose an empty folder or pass --force to overwrite the files it writes.", ExitCodes.BadInput);
        }
        foreach (var file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories))
            before[Path.GetRelativePath(path, file)] = File.GetLastWriteTimeUtc(file);
        return new OutputFolder(path, before);
    }

    /// <summary>Files that were there before and were not rewritten (relative paths, sorted).</summary>
    public IReadOnlyList<string> KeptFiles() =>
        _before.Where(f => File.Exists(Path.Combine(_path, f.Key)) && File.GetLastWriteTimeUtc(Path.Combine(_path, f.Key)) == f.Value)
            .Select(f => f.Key).Order(StringComparer.Ordinal).ToList();
}
