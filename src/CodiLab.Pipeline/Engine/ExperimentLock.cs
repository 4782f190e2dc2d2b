namespace CodiLab.Pipeline.Engine;

/// <summary>
/// An exclusive lock on one experiment folder for the length of a run (an OS file lock: released if the
/// process dies). A second run of the same experiment waits up to a timeout, then fails with a clear error.
/// </summary>
public sealed class ExperimentLock : IDisposable
{
    private readonly FileStream _stream;

    private ExperimentLock(FileStream stream) => _stream = stream;

    /// <summary>Takes the lock or throws a <see cref="CodiLabException"/> with <see cref="ExitCodes.Busy"/>.</summary>
    public static ExperimentLock Acquire(string experimentRoot, string experiment, TimeSpan wait)
    {
        var path = Path.Combine(experimentRoot, ".run.lock");
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            try
            {
                Directory.CreateDirectory(experimentRoot);
                return new ExperimentLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            // A read-only folder fails the same way as a busy one; only the busy one is worth waiting for.
            catch (Exception e) when (e is IOException or UnauthorizedAccessException && WriteProbe.IsReadOnly(experimentRoot))
            {
                throw WriteProbe.ReadOnlyError(experimentRoot, e);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
            catch (IOException e)
            {
                throw new CodiLabException($"another CodiLab run is working on experiment '{experiment}' right now.", path,
                    "wait for it to finish (or stop it), then run again; two runs of one experiment never write at once.",
                    ExitCodes.Busy, e);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();
}
