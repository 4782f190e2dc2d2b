namespace CodiLab.Analysis;

/// <summary>
/// Allocation of the big arrays analysis works on (a stage's attention arrays run to gigabytes at Phase 4 size). Fresh
/// memory is expensive on a virtual machine: every new 4 KB page is faulted in from the host, measured at about 4 s per
/// GB on the 2-core build box, while memory the process already holds is reused in milliseconds. The garbage collector
/// only reuses the pages of arrays that have died once it has run, and a big allocation alone seldom makes it run; so
/// before allocating a big array, the arrays that are already dead are collected first. This also keeps the peak
/// memory at what is live rather than live plus dead.
/// </summary>
public static class LargeArrays
{
    /// <summary>Arrays at least this large (bytes) collect the dead ones first.</summary>
    public const long Threshold = 64L << 20;

    /// <summary>A zeroed array of <paramref name="count"/> elements.</summary>
    public static T[] New<T>(long count) where T : unmanaged
    {
        if (count > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(count), $"{count} elements are more than one array can hold");
        MakeRoom(count * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        return new T[count];
    }

    /// <summary>Collects the dead arrays before <paramref name="bytes"/> of new arrays are allocated, when that is a lot.</summary>
    public static void MakeRoom(long bytes)
    {
        if (bytes >= Threshold) GC.Collect();
    }
}
