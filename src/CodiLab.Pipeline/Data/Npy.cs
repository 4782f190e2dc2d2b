using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using CodiLab.Analysis;

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

/// <summary>The element types these arrays are stored in; values are float32 in memory either way.</summary>
public enum NpyDType
{
    /// <summary>'&lt;f2' (IEEE half, round to nearest even).</summary>
    Float16,

    /// <summary>'&lt;f4'.</summary>
    Float32,

    /// <summary>'&lt;i4' (indices such as token positions; written from floats that hold whole numbers).</summary>
    Int32,
}

/// <summary>
/// NumPy's <c>.npy</c> format, version 1.0 (what <c>numpy.save</c> writes for these arrays): magic, header dict
/// <c>{'descr': '&lt;f2', 'fortran_order': False, 'shape': (…), }</c> padded with spaces to a multiple of 64
/// bytes and ending in a newline, then the C-order little-endian data. float16, float32 and int32. Whole-array
/// helpers here; <see cref="NpyWriter"/> writes an array block by block and <see cref="NpyReader"/> reads rows
/// (problems) in bulk, so an array larger than memory is never held whole.
/// </summary>
public static partial class Npy
{
    internal static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0];

    /// <summary>Writes float32 values, stored as float16 ('&lt;f2') or float32 ('&lt;f4').</summary>
    public static void Write(string path, long[] shape, ReadOnlySpan<float> values, bool half) =>
        Write(path, shape, values, half ? NpyDType.Float16 : NpyDType.Float32);

    /// <summary>Writes float32 values stored as <paramref name="dtype"/>, atomically (temporary file, then rename).</summary>
    public static void Write(string path, long[] shape, ReadOnlySpan<float> values, NpyDType dtype)
    {
        if (shape.Aggregate(1L, (a, b) => a * b) != values.Length)
            throw new ArgumentException($"shape ({string.Join(", ", shape)}) does not hold {values.Length} values");
        using var writer = new NpyWriter(path, shape, dtype);
        writer.Append(values);
        writer.Commit();
    }

    /// <summary>Reads a float16/float32/int32 C-order array whole, in bulk.</summary>
    public static NdArray Read(string path)
    {
        using var reader = NpyReader.Open(path);
        if (reader.Count > Array.MaxLength)
            throw new InvalidDataException($"{path} holds {reader.Count} values, more than one array can; read it by rows");
        var values = LargeArrays.New<float>(reader.Count);
        reader.ReadAll(values);
        return new NdArray(reader.Shape, values, reader.Descr);
    }

    /// <summary>
    /// A file's rows (first axis) in blocks of about 32 MB, as (first row, rows, values), the file opened afresh on each
    /// enumeration so that a streaming pass can read it more than once. The values buffer is reused from block to block.
    /// </summary>
    public static Func<IEnumerable<(long First, int Count, float[] Values)>> Blocks(string path) => () => BlocksOf(path);

    /// <summary>
    /// <see cref="Blocks(string)"/> after checking that the file holds <paramref name="rows"/> rows of
    /// <paramref name="rowCells"/> values each (a streaming pass would otherwise misread a file of another shape).
    /// </summary>
    public static Func<IEnumerable<(long First, int Count, float[] Values)>> Blocks(string path, long rows, long rowCells)
    {
        using (var reader = NpyReader.Open(path)) reader.Expect(rows, rowCells);
        return Blocks(path);
    }

    private static IEnumerable<(long First, int Count, float[] Values)> BlocksOf(string path)
    {
        using var reader = NpyReader.Open(path);
        foreach (var block in reader.Blocks(reader.RowsPerBlock())) yield return block;
    }

    /// <summary>The descr string of a dtype.</summary>
    public static string Descr(NpyDType dtype) => dtype switch
    {
        NpyDType.Float16 => "<f2",
        NpyDType.Float32 => "<f4",
        NpyDType.Int32 => "<i4",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>Bytes per element of a dtype.</summary>
    public static int Size(NpyDType dtype) => dtype == NpyDType.Float16 ? 2 : 4;

    // The header exactly as numpy.save pads it (the same bytes every time for the same shape and dtype).
    internal static byte[] Header(long[] shape, NpyDType dtype)
    {
        var dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        var dict = $"{{'descr': '{Descr(dtype)}', 'fortran_order': False, 'shape': ({dims}), }}";
        var total = Magic.Length + 2 + dict.Length + 1;
        var header = dict + new string(' ', (64 - total % 64) % 64) + "\n";
        var bytes = new byte[Magic.Length + 2 + header.Length];
        Magic.CopyTo(bytes, 0);
        BitConverter.TryWriteBytes(bytes.AsSpan(Magic.Length), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header).CopyTo(bytes, Magic.Length + 2);
        return bytes;
    }

    // Parses a header's descr and shape; the stream is left at the first data byte.
    internal static (NpyDType DType, string Descr, long[] Shape) ParseHeader(Stream stream, string path)
    {
        Span<byte> magic = stackalloc byte[8];
        if (stream.ReadAtLeast(magic, 8, throwOnEndOfStream: false) < 8 || !magic[..6].SequenceEqual(Magic.AsSpan(0, 6)))
            throw new InvalidDataException($"{path} is not a .npy file");
        Span<byte> size = stackalloc byte[4];
        var wide = magic[6] != 1;
        stream.ReadExactly(size[..(wide ? 4 : 2)]);
        var headerLength = wide ? (int)BitConverter.ToUInt32(size) : BitConverter.ToUInt16(size);
        var bytes = new byte[headerLength];
        stream.ReadExactly(bytes);
        var header = Encoding.ASCII.GetString(bytes);
        if (header.Contains("'fortran_order': True", StringComparison.Ordinal))
            throw new InvalidDataException($"{path}: Fortran order is not supported");
        var descr = DescrPattern().Match(header).Groups[1].Value;
        var dtype = descr switch
        {
            "<f2" => NpyDType.Float16,
            "<f4" => NpyDType.Float32,
            "<i4" => NpyDType.Int32,
            _ => throw new InvalidDataException($"{path}: dtype {descr} is not supported (float16, float32 and int32 are)"),
        };
        var shape = ShapePattern().Match(header).Groups[1].Value
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => long.Parse(s, CultureInfo.InvariantCulture))
            .ToArray();
        return (dtype, descr, shape);
    }

    [GeneratedRegex(@"'descr':\s*'([^']+)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
