using System.Diagnostics;
using System.Globalization;

namespace CodiLab.Pipeline.Features;

/// <summary>
/// What Bench reads about its own process and host on Linux: peak resident memory (VmHWM, resettable through
/// <c>/proc/self/clear_refs</c> so that each timed section gets its own peak), CPU time split into user and kernel
/// (kernel time is mostly page faults when freed memory goes back to the system and is faulted in again), the
/// load average (the box may be shared) and the glibc allocator settings the process started with.
/// Elsewhere the values fall back to what .NET reports, or null.
/// </summary>
public static class HostProbe
{
    /// <summary>The allocator variables worth recording beside a timing.</summary>
    public static readonly string[] MallocVariables =
        ["GLIBC_TUNABLES", "CODILAB_MALLOC", "MALLOC_ARENA_MAX", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_"];

    /// <summary>Peak resident set in MiB since the process started or since the last <see cref="ResetPeak"/>.</summary>
    public static double PeakResidentMb()
    {
        var kb = StatusKb("VmHWM");
        return Math.Round((kb is { } k ? k * 1024.0 : Process.GetCurrentProcess().PeakWorkingSet64) / 1048576.0, 1);
    }

    /// <summary>Current resident set in MiB.</summary>
    public static double ResidentMb()
    {
        var kb = StatusKb("VmRSS");
        return Math.Round((kb is { } k ? k * 1024.0 : Environment.WorkingSet) / 1048576.0, 1);
    }

    /// <summary>
    /// Starts a new peak: the managed heap is compacted first so that memory the previous section freed is not
    /// counted, then the kernel's high-water mark is set back to the current resident set (Linux 4.0+; ignored elsewhere).
    /// </summary>
    public static void ResetPeak()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            // No resettable peak here: the reported peak is the process's.
        }
    }

    /// <summary>The 1-minute load average, or null off Linux.</summary>
    public static double? LoadAverage()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.Parse(first, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>User and kernel CPU seconds this process has used so far.</summary>
    public static (double User, double Kernel) CpuSeconds()
    {
        using var self = Process.GetCurrentProcess();
        return (self.UserProcessorTime.TotalSeconds, self.PrivilegedProcessorTime.TotalSeconds);
    }

    /// <summary>The allocator variables that are set, as NAME=value.</summary>
    public static IReadOnlyList<string> MallocSettings() =>
        [.. MallocVariables.Select(v => (v, Environment.GetEnvironmentVariable(v))).Where(p => !string.IsNullOrEmpty(p.Item2))
            .Select(p => $"{p.v}={p.Item2}")];

    private static long? StatusKb(string field)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (!line.StartsWith(field + ":", StringComparison.Ordinal)) continue;
                var number = line[(field.Length + 1)..].Trim().Split(' ')[0];
                return long.Parse(number, CultureInfo.InvariantCulture);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // not Linux
        }
        return null;
    }
}
