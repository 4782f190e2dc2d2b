using static TorchSharp.torch;

namespace CodiLab.Models.Checkpoints;

/// <summary>Element types found in checkpoints.</summary>
public enum StoredType
{
    /// <summary>IEEE float32.</summary>
    Float32,
    /// <summary>bfloat16.</summary>
    BFloat16,
    /// <summary>IEEE float16.</summary>
    Float16,
    /// <summary>IEEE float64.</summary>
    Float64,
    /// <summary>int64.</summary>
    Int64,
    /// <summary>int32.</summary>
    Int32,
    /// <summary>uint8.</summary>
    UInt8,
    /// <summary>bool (one byte).</summary>
    Bool,
}

/// <summary>
/// A tensor read from a checkpoint: element type, shape and contiguous little-endian bytes. A deferred one
/// (<see cref="Deferred"/>) reads its bytes from the file only when asked, straight into a tensor's memory by
/// <see cref="ToTensor"/>, so a multi-gigabyte checkpoint is never held in managed arrays.
/// </summary>
public sealed record RawTensor(StoredType Type, long[] Shape, byte[] Data)
{
    private byte[]? _data = Data;

    /// <summary>The bytes (read from the file on first use for a deferred tensor).</summary>
    public byte[] Data
    {
        get
        {
            if (_data is null && Source is { } source)
            {
                var bytes = new byte[Count * SizeOf(Type)];
                source(bytes);
                _data = bytes;
            }
            return _data!;
        }
        init => _data = value;
    }

    // Fills a span of exactly the tensor's byte size from where the bytes are stored.
    private SpanFiller? Source { get; init; }

    /// <summary>Fills a span of exactly the tensor's byte size with its stored bytes.</summary>
    public delegate void SpanFiller(Span<byte> target);

    /// <summary>A tensor whose bytes are read by <paramref name="source"/> only when needed.</summary>
    public static RawTensor Deferred(StoredType type, long[] shape, SpanFiller source) => new(type, shape, null!) { Source = source };

    /// <summary>Bytes per element.</summary>
    public static int SizeOf(StoredType type) => type switch
    {
        StoredType.Float64 or StoredType.Int64 => 8,
        StoredType.Float32 or StoredType.Int32 => 4,
        StoredType.BFloat16 or StoredType.Float16 => 2,
        _ => 1,
    };

    /// <summary>Number of elements.</summary>
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The shape as text, e.g. [64, 192].</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    /// <summary>The TorchSharp scalar type of the stored elements.</summary>
    public ScalarType ScalarType => Type switch
    {
        StoredType.Float32 => ScalarType.Float32,
        StoredType.BFloat16 => ScalarType.BFloat16,
        StoredType.Float16 => ScalarType.Float16,
        StoredType.Float64 => ScalarType.Float64,
        StoredType.Int64 => ScalarType.Int64,
        StoredType.Int32 => ScalarType.Int32,
        StoredType.UInt8 => ScalarType.Byte,
        _ => ScalarType.Bool,
    };

    /// <summary>A new CPU tensor holding these values, converted to <paramref name="type"/> (no copy when it is the stored type).</summary>
    public Tensor ToTensor(ScalarType type = ScalarType.Float32)
    {
        var raw = empty(Shape, ScalarType);
        if (_data is null && Source is { } source) source(raw.bytes);
        else Data.AsSpan().CopyTo(raw.bytes);
        if (type == ScalarType) return raw;
        using (raw) return raw.to_type(type);
    }

    /// <summary>Reads a tensor's values as a checkpoint stores them (contiguous, little-endian).</summary>
    public static RawTensor FromTensor(Tensor tensor)
    {
        var type = tensor.dtype switch
        {
            ScalarType.Float32 => StoredType.Float32,
            ScalarType.BFloat16 => StoredType.BFloat16,
            ScalarType.Float16 => StoredType.Float16,
            ScalarType.Float64 => StoredType.Float64,
            ScalarType.Int64 => StoredType.Int64,
            ScalarType.Int32 => StoredType.Int32,
            ScalarType.Byte => StoredType.UInt8,
            ScalarType.Bool => StoredType.Bool,
            var t => throw new NotSupportedException($"cannot store {t}"),
        };
        using var c = tensor.detach().cpu().contiguous();
        return new RawTensor(type, c.shape, c.bytes.ToArray());
    }
}
