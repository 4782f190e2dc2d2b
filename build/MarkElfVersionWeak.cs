using System;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

/// <summary>
/// Sets VER_FLG_WEAK on one symbol-version requirement of every libLibTorchSharp.so below a folder, when the
/// host's libstdc++ does not provide that version. Each file is rewritten through a temporary copy, so a hard
/// link into a package cache is replaced rather than modified.
/// </summary>
public class MarkElfVersionWeak : Task
{
    [Required] public string Folder { get; set; } = "";
    [Required] public string Version { get; set; } = "";

    private static readonly string[] LibDirs =
    {
        "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib",
    };

    public override bool Execute()
    {
        if (!Directory.Exists(Folder)) return true;
        var libstdcxx = LibDirs.Select(d => Path.Combine(d, "libstdc++.so.6")).FirstOrDefault(File.Exists);
        if (libstdcxx == null || Contains(File.ReadAllBytes(libstdcxx), Encoding.ASCII.GetBytes(Version + "\0"))) return true;
        foreach (var file in Directory.EnumerateFiles(Folder, "libLibTorchSharp.so", SearchOption.AllDirectories))
        {
            var bytes = File.ReadAllBytes(file);
            if (!Patch(bytes, Version)) continue;
            var temp = file + ".weak-tmp";
            File.WriteAllBytes(temp, bytes);
            File.Delete(file);
            File.Move(temp, file);
            Log.LogMessage(MessageImportance.Normal, $"CodiLab: marked {Version} weak in {file} (host libstdc++ lacks it)");
        }
        return true;
    }

    private static bool Contains(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return true;
        }
        return false;
    }

    // ELF64 little-endian: walk SHT_GNU_verneed (Elf64_Verneed / Elf64_Vernaux chains) and set vna_flags |= 2.
    private static bool Patch(byte[] b, string version)
    {
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F' || b[4] != 2 || b[5] != 1) return false;
        long shoff = (long)BitConverter.ToUInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A);
        int shnum = BitConverter.ToUInt16(b, 0x3C);
        bool changed = false;
        for (int s = 0; s < shnum; s++)
        {
            int sh = (int)(shoff + s * shentsize);
            if (BitConverter.ToUInt32(b, sh + 4) != 0x6ffffffe) continue;
            long verneed = (long)BitConverter.ToUInt64(b, sh + 0x18);
            int link = (int)BitConverter.ToUInt32(b, sh + 0x28);
            long strtab = (long)BitConverter.ToUInt64(b, (int)(shoff + link * shentsize) + 0x18);
            long vn = verneed;
            while (true)
            {
                int count = BitConverter.ToUInt16(b, (int)vn + 2);
                long aux = vn + BitConverter.ToUInt32(b, (int)vn + 8);
                for (int a = 0; a < count; a++)
                {
                    int nameAt = (int)(strtab + BitConverter.ToUInt32(b, (int)aux + 8));
                    int end = Array.IndexOf(b, (byte)0, nameAt);
                    if (Encoding.ASCII.GetString(b, nameAt, end - nameAt) == version && (b[aux + 4] & 2) == 0)
                    {
                        b[aux + 4] |= 2;
                        changed = true;
                    }
                    aux += BitConverter.ToUInt32(b, (int)aux + 12);
                }
                uint next = BitConverter.ToUInt32(b, (int)vn + 12);
                if (next == 0) break;
                vn += next;
            }
        }
        return changed;
    }
}
