namespace CodiLab.Pipeline.Engine;

/// <summary>
/// An exclusive lock on one stage key (<c>cache/.locks/&lt;key&gt;</c>, an OS file lock released if the process dies).
/// Two experiments can share a stage key (same fields, same inputs); without it both would build the entry at once,
/// sharing its resume folder under <c>cache/.partial/</c>. The second waits, then finds the entry committed and reuses it.
/// </summary>
public sealed class StageKeyLock : IDisposable
{
    private readonly FileStream _stream;

    private StageKeyLock(FileStream stream) => _stream = stream;

    /// <summary>The folder holding the key locks.</summary>
    public static string Folder(string cacheRoot) => Path.Combine(cacheRoot, ".locks");

    /// <summary>Takes the lock on <paramref name="key"/>, waiting (with one log line) while another run holds it.</summary>
    public static StageKeyLock Acquire(string cacheRoot, string key, TextWriter log, string who)
    {
        var folder = Folder(cacheRoot);
        var path = Path.Combine(folder, key);
        var said = false;
        while (true)
        {
            try
            {
                Directory.CreateDirectory(folder);
                return new StageKeyLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (!WriteProbe.IsReadOnly(folder))
            {
                if (!said) log.WriteLine($"[{who}] another run is building entry {key[..Math.Min(12, key.Length)]}; waiting for it");
                said = true;
                Thread.Sleep(200);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw WriteProbe.ReadOnlyError(cacheRoot, e);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();
}
