using System.Runtime.InteropServices;

namespace CodiLab.Models.Codi;

/// <summary>
/// glibc's allocation policy for the CPU runtime. By default glibc serves every block over a threshold with its own
/// mmap and gives it back on free, and trims the heap top it no longer uses; a CODI batch allocates and frees the
/// same large activations layer after layer, so each one is faulted in afresh (tens of seconds of kernel time in a
/// LLaMA-1B run). Applied once, before a model is loaded: the main arena serves every block from the heap (none by its
/// own mmap, however large: at batch 16 a layer's activations pass glibc's largest threshold of 32 MiB; glibc's other
/// arenas still map blocks over their 64 MiB heaps), the heap is not trimmed, and one arena per two cores keeps threads
/// from each growing their own.
/// <c>CODILAB_MALLOC=system</c> leaves glibc's defaults; <c>GLIBC_TUNABLES</c>, <c>MALLOC_TRIM_THRESHOLD_</c>,
/// <c>MALLOC_MMAP_MAX_</c> or <c>MALLOC_MMAP_THRESHOLD_</c> set by the user also wins. Does nothing off glibc.
/// </summary>
public static class AllocatorPolicy
{
    private const int TrimThreshold = -1, TopPad = -2, MmapThreshold = -3, MmapMax = -4, ArenaMax = -8;
    private static int _applied;

    /// <summary>What <see cref="Apply"/> did: "glibc defaults", "kept freed memory", or why it did nothing.</summary>
    public static string State { get; private set; } = "not applied";

    /// <summary>Sets the policy once per process (later calls do nothing).</summary>
    public static void Apply()
    {
        if (Interlocked.Exchange(ref _applied, 1) == 1) return;
        if (Environment.GetEnvironmentVariable("CODILAB_MALLOC") is "system")
        {
            State = "glibc defaults (CODILAB_MALLOC=system)";
            return;
        }
        if (!OperatingSystem.IsLinux() || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("GLIBC_TUNABLES"))
            || new[] { "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_" }
                .Any(v => Environment.GetEnvironmentVariable(v) is not null))
        {
            State = "left to the environment";
            return;
        }
        try
        {
            var ok = MallOpt(MmapThreshold, 32 << 20) == 1
                & MallOpt(MmapMax, 0) == 1
                & MallOpt(TrimThreshold, int.MaxValue) == 1
                & MallOpt(TopPad, 64 << 20) == 1
                & MallOpt(ArenaMax, Math.Max(1, Environment.ProcessorCount / 2)) == 1;
            State = ok ? "kept freed memory (no mmap blocks, no trim)" : "glibc refused a setting";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            State = "not glibc";
        }
    }

    // DllImport rather than LibraryImport, as in FileStamp: the generated marshaller would need unsafe code.
    [DllImport("libc.so.6", EntryPoint = "mallopt")]
    private static extern int MallOpt(int parameter, int value);
}
