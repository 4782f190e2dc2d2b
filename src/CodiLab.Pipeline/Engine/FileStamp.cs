using System.Runtime.InteropServices;

namespace CodiLab.Pipeline.Engine;

/// <summary>
/// What the hash memo trusts a file by: size, modification time, status-change time (ctime) and inode. <c>cp -p</c> or
/// <c>touch -r</c> can restore a file's size and modification time but not its ctime or inode, so a replaced checkpoint
/// gets a new stamp. ctime and inode come from <c>statx</c> on Linux; elsewhere the creation time stands in for them.
/// </summary>
internal static class FileStamp
{
    private const int AtFdCwd = -100;
    private const uint BasicStats = 0x7ff;
    private static bool _statxMissing;

    /// <summary>The stamp of an existing file.</summary>
    public static string Of(string path)
    {
        var info = new FileInfo(path);
        var basic = $"{info.Length}:{info.LastWriteTimeUtc.Ticks}";
        return Linux(path) is { } extra ? $"{basic}:{extra}" : $"{basic}:b{info.CreationTimeUtc.Ticks}";
    }

    // "ctime-seconds.nanoseconds:inode" from statx, or null where statx is not available.
    private static string? Linux(string path)
    {
        if (!OperatingSystem.IsLinux() || _statxMissing) return null;
        var buffer = new byte[256];
        try
        {
            if (Statx(AtFdCwd, path, 0, BasicStats, buffer) != 0) return null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _statxMissing = true;
            return null;
        }
        // struct statx: stx_ino at byte 32; stx_ctime (i64 seconds, u32 nanoseconds) at byte 96. The layout is the same
        // on every Linux architecture.
        var inode = BitConverter.ToUInt64(buffer, 32);
        var seconds = BitConverter.ToInt64(buffer, 96);
        var nanos = BitConverter.ToUInt32(buffer, 104);
        return $"{seconds}.{nanos:D9}:{inode}";
    }

    // DllImport rather than LibraryImport: the generated marshaller would need unsafe code enabled for the project.
    [DllImport("libc.so.6", EntryPoint = "statx")]
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, [Out] byte[] buffer);
}
