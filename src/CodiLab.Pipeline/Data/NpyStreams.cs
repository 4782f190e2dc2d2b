using System.Runtime.InteropServices;

namespace CodiLab.Pipeline.Data;

/// <summary>
/// Writes one <c>.npy</c> array block by block: the header first (the shape is known up front), then values appended
/// in C order, converted to the stored dtype in bulk; <see cref="Commit"/> checks that exactly the declared count
/// arrived and renames the temporary file into place, so a reader never sees half an array. Disposed without a
/// commit, the temporary file is removed.
/// </summary>
public sealed class NpyWriter : IDisposable
{
    private const int Block = 1 << 16;
    private readonly string _path;
    private readonly string _temp;
    private readonly FileStream _file;
    private readonly NpyDType _dtype;
    private readonly long _count;
    private readonly byte[] _buffer;
    private long _written;
    private bool _committed;

    /// <summary>Starts <paramref name="path"/> with the header for <paramref name="shape"/>.</summary>
    public NpyWriter(string path, long[] shape, NpyDType dtype)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException(".npy data is written little-endian");
        (_path, _dtype, _count) = (path, dtype, shape.Aggregate(1L, (a, b) => a * b));
        _temp = $"{path}.tmp-{Environment.ProcessId}";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _file = new FileStream(_temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        _file.Write(Npy.Header(shape, dtype));
        _buffer = new byte[Block * Npy.Size(dtype)];
    }

    /// <summary>Values written so far.</summary>
    public long Written => _written;

    /// <summary>Appends values (float32 in memory) in the stored dtype.</summary>
    public void Append(ReadOnlySpan<float> values)
    {
        if (_written + values.Length > _count)
            throw new InvalidOperationException($"{_path}: {_written + values.Length} values for an array of {_count}");
        for (int at = 0; at < values.Length; at += Block)
        {
            var part = values.Slice(at, Math.Min(Block, values.Length - at));
            var bytes = _buffer.AsSpan(0, part.Length * Npy.Size(_dtype));
            switch (_dtype)
            {
                case NpyDType.Float32:
                    MemoryMarshal.AsBytes(part).CopyTo(bytes);
                    break;
                case NpyDType.Float16:
                    var halves = MemoryMarshal.Cast<byte, Half>(bytes);
                    for (int i = 0; i < part.Length; i++) halves[i] = (Half)part[i];
                    break;
                default:
                    var ints = MemoryMarshal.Cast<byte, int>(bytes);
                    for (int i = 0; i < part.Length; i++) ints[i] = checked((int)part[i]);
                    break;
            }
            _file.Write(bytes);
        }
        _written += values.Length;
    }

    /// <summary>Closes the file and moves it into place; refuses an array that is not complete.</summary>
    public void Commit()
    {
        if (_written != _count)
            throw new InvalidOperationException($"{_path}: {_written} of {_count} values written; the array is not complete");
        _file.Flush(flushToDisk: false);
        _file.Dispose();
        File.Move(_temp, _path, overwrite: true);
        _committed = true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _file.Dispose();
        if (!_committed && File.Exists(_temp)) File.Delete(_temp);
    }
}

/// <summary>
/// Reads a <c>.npy</c> array by rows of its first axis (one row = one problem for the per-problem arrays), in bulk
/// (one read per block, converted with spans, never element by element), sequentially or from any row; only the
/// rows asked for are in memory.
/// </summary>
public sealed class NpyReader : IDisposable
{
    private readonly FileStream _file;
    private readonly long _dataStart;
    private readonly string _path;
    private byte[] _buffer = [];

    private NpyReader(string path)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException(".npy data is read little-endian");
        _path = path;
        _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        (DType, Descr, Shape) = Npy.ParseHeader(_file, path);
        _dataStart = _file.Position;
        var expected = _dataStart + Count * Npy.Size(DType);
        if (_file.Length < expected)
            throw new InvalidDataException($"{path} is truncated: {_file.Length} bytes where the header promises {expected}");
    }

    /// <summary>Opens a file and reads its header.</summary>
    public static NpyReader Open(string path) => new(path);

    /// <summary>The stored dtype.</summary>
    public NpyDType DType { get; }

    /// <summary>The header's descr string.</summary>
    public string Descr { get; }

    /// <summary>The array's shape.</summary>
    public long[] Shape { get; }

    /// <summary>Element count.</summary>
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Rows along the first axis (1 for a scalar).</summary>
    public long Rows => Shape.Length == 0 ? 1 : Shape[0];

    /// <summary>Values per row (the product of every axis but the first).</summary>
    public long RowCells => Shape.Length == 0 ? 1 : Shape.Skip(1).Aggregate(1L, (a, b) => a * b);

    /// <summary>Reads rows [<paramref name="first"/>, first + count) into <paramref name="destination"/> (count × RowCells values).</summary>
    public void ReadRows(long first, int count, Span<float> destination)
    {
        if (first < 0 || count < 0 || first + count > Rows)
            throw new ArgumentOutOfRangeException(nameof(first), $"rows {first}..{first + count} of {Rows} in {_path}");
        var n = checked((int)(count * RowCells));
        if (destination.Length < n) throw new ArgumentException($"room for {destination.Length} of {n} values", nameof(destination));
        _file.Position = _dataStart + first * RowCells * Npy.Size(DType);
        ReadValues(destination[..n]);
    }

    /// <summary>Reads every value into <paramref name="destination"/>.</summary>
    public void ReadAll(Span<float> destination)
    {
        _file.Position = _dataStart;
        ReadValues(destination[..checked((int)Count)]);
    }

    /// <summary>
    /// Refuses a file that does not hold <paramref name="rows"/> rows of <paramref name="rowCells"/> values each (what its
    /// metadata says), before anything is read from it: a corrupt file, with exit 5.
    /// </summary>
    public void Expect(long rows, long rowCells)
    {
        if (Rows != rows || RowCells != rowCells)
            throw new CodiLabException(
                $"{Path.GetFileName(_path)} holds {Rows} rows of {RowCells} values where its metadata says {rows} of {rowCells}.",
                _path, "run 'codilab verify', then run the stage that wrote it again.", ExitCodes.Corrupt);
    }

    /// <summary>
    /// How many rows make a block of about <paramref name="bytes"/> (as floats; at least one row): the size a streaming pass
    /// reads at a time, small enough to stay out of the way and large enough that each read is long.
    /// </summary>
    public int RowsPerBlock(long bytes = 32L << 20) => (int)Math.Clamp(bytes / 4 / Math.Max(1, RowCells), 1, Math.Max(1, Rows));

    /// <summary>
    /// The rows in order, <paramref name="rowsPerBlock"/> at a time: (first row, rows, values). The values buffer is
    /// reused from block to block; copy what must outlive the next step.
    /// </summary>
    public IEnumerable<(long First, int Count, float[] Values)> Blocks(int rowsPerBlock)
    {
        var buffer = new float[checked(rowsPerBlock * RowCells)];
        for (long first = 0; first < Rows; first += rowsPerBlock)
        {
            var count = (int)Math.Min(rowsPerBlock, Rows - first);
            ReadRows(first, count, buffer);
            yield return (first, count, buffer);
        }
    }

    private void ReadValues(Span<float> destination)
    {
        if (DType == NpyDType.Float32)
        {
            // Stored as read: straight from the file into the destination, in slices a byte span can hold.
            for (int at = 0; at < destination.Length; at += 1 << 28)
                _file.ReadExactly(MemoryMarshal.AsBytes(destination.Slice(at, Math.Min(1 << 28, destination.Length - at))));
            return;
        }
        const int block = 1 << 16;
        var size = Npy.Size(DType);
        if (_buffer.Length < block * size) _buffer = new byte[block * size];
        for (int at = 0; at < destination.Length; at += block)
        {
            var part = destination.Slice(at, Math.Min(block, destination.Length - at));
            var bytes = _buffer.AsSpan(0, part.Length * size);
            _file.ReadExactly(bytes);
            switch (DType)
            {
                case NpyDType.Float32:
                    MemoryMarshal.Cast<byte, float>(bytes).CopyTo(part);
                    break;
                case NpyDType.Float16:
                    var halves = MemoryMarshal.Cast<byte, Half>(bytes);
                    for (int i = 0; i < part.Length; i++) part[i] = (float)halves[i];
                    break;
                default:
                    var ints = MemoryMarshal.Cast<byte, int>(bytes);
                    for (int i = 0; i < part.Length; i++) part[i] = ints[i];
                    break;
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
