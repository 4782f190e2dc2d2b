using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace CodiLab.Pipeline.Data;

/// <summary>An n-dimensional float array as read from a <c>.npy</c> file (values widened to float32).</summary>
public sealed record NdArray(long[] Shape, float[] Values, string Descr)
{
    /// <summary>Element count.</summary>
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The flat index of a C-order position.</summary>
    public long Index(params long[] at)
    {
        long index = 0;
        for (int i = 0; i < Shape.Length; i++) index = index * Shape[i] + at[i];
        return index;
    }
}

/// <summary>
/// NumPy's <c>.npy</c> format, version 1.0 (what <c>numpy.save</c> writes for these arrays): magic, header dict
/// <c>{'descr': '&lt;f2', 'fortran_order': False, 'shape': (…), }</c> padded with spaces to a multiple of 64
/// bytes and ending in a newline, then the C-order little-endian data. float16 and float32.
/// </summary>
public static partial class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0];

    /// <summary>Writes float32 values, stored as float16 ('&lt;f2') or float32 ('&lt;f4').</summary>
    public static void Write(string path, long[] shape, ReadOnlySpan<float> values, bool half)
    {
        if (shape.Aggregate(1L, (a, b) => a * b) != values.Length)
            throw new ArgumentException($"shape ({string.Join(", ", shape)}) does not hold {values.Length} values");
        var dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        var dict = $"{{'descr': '{(half ? "<f2" : "<f4")}', 'fortran_order': False, 'shape': ({dims}), }}";
        var total = Magic.Length + 2 + dict.Length + 1;
        var header = dict + new string(' ', (64 - total % 64) % 64) + "\n";
        var temp = path + ".tmp";
        using (var file = new BinaryWriter(File.Create(temp)))
        {
            file.Write(Magic);
            file.Write((ushort)header.Length);
            file.Write(Encoding.ASCII.GetBytes(header));
            foreach (var v in values)
            {
                if (half) file.Write((Half)v);
                else file.Write(v);
            }
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Reads a float16/float32 C-order array.</summary>
    public static NdArray Read(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        var magic = reader.ReadBytes(8);
        if (magic.Length < 8 || !magic.AsSpan(0, 6).SequenceEqual(Magic.AsSpan(0, 6)))
            throw new InvalidDataException($"{path} is not a .npy file");
        int headerLength = magic[6] == 1 ? reader.ReadUInt16() : (int)reader.ReadUInt32();
        var header = Encoding.ASCII.GetString(reader.ReadBytes(headerLength));
        var descr = DescrPattern().Match(header).Groups[1].Value;
        if (header.Contains("'fortran_order': True", StringComparison.Ordinal))
            throw new InvalidDataException($"{path}: Fortran order is not supported");
        var shape = ShapePattern().Match(header).Groups[1].Value
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => long.Parse(s, CultureInfo.InvariantCulture))
            .ToArray();
        var count = shape.Aggregate(1L, (a, b) => a * b);
        var values = new float[count];
        for (long i = 0; i < count; i++)
            values[i] = descr switch
            {
                "<f2" => (float)reader.ReadHalf(),
                "<f4" => reader.ReadSingle(),
                _ => throw new InvalidDataException($"{path}: dtype {descr} is not supported (float16/float32 are)"),
            };
        return new NdArray(shape, values, descr);
    }

    [GeneratedRegex(@"'descr':\s*'([^']+)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
