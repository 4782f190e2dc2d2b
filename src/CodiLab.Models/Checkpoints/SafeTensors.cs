using System.Text;
using System.Text.Json;

namespace CodiLab.Models.Checkpoints;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header
/// <c>{name: {dtype, shape, data_offsets}}</c> (plus <c>__metadata__</c>), then the raw bytes.
/// </summary>
public static class SafeTensors
{
    private static readonly Dictionary<string, StoredType> Types = new()
    {
        ["F32"] = StoredType.Float32, ["BF16"] = StoredType.BFloat16, ["F16"] = StoredType.Float16, ["F64"] = StoredType.Float64,
        ["I64"] = StoredType.Int64, ["I32"] = StoredType.Int32, ["U8"] = StoredType.UInt8, ["BOOL"] = StoredType.Bool,
    };

    /// <summary>
    /// Reads every tensor, one read per tensor from the file (checkpoints over 2 GiB, like LLaMA-1B's, never sit
    /// in one array); a truncated or malformed file is a <see cref="ModelFormatException"/>.
    /// </summary>
    public static IReadOnlyDictionary<string, RawTensor> Read(string path)
    {
        using var file = Open(path);
        return file.Tensors.ToDictionary(
            kv => kv.Key, kv => new RawTensor(kv.Value.Type, kv.Value.Shape, kv.Value.Data), StringComparer.Ordinal);
    }

    /// <summary>
    /// Reads the header and checks it; the tensors it returns are deferred (<see cref="RawTensor.Deferred"/>): each
    /// one's bytes are read from the file when used, while the returned file is open.
    /// </summary>
    public static SafeTensorsFile Open(string path)
    {
        var handle = File.OpenHandle(path);
        try
        {
            return new SafeTensorsFile(handle, Header(handle, path));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static Dictionary<string, RawTensor> Header(Microsoft.Win32.SafeHandles.SafeFileHandle handle, string path)
    {
        var size = RandomAccess.GetLength(handle);
        const string fix = "the file is damaged or incomplete; copy it again from its source (or remove it so pytorch_model.bin is used).";
        if (size < 8) throw new ModelFormatException($"the file is too short to be safetensors ({size} bytes).", path, fix);
        var prefix = new byte[8];
        ReadExactly(handle, prefix, 0);
        var headerLength = BitConverter.ToUInt64(prefix, 0);
        if (headerLength > (ulong)size - 8 || headerLength > 100_000_000)
            throw new ModelFormatException(
                $"the header claims {headerLength} bytes but the file holds {size}: it is truncated or not safetensors.", path, fix);
        var headerBytes = new byte[headerLength];
        ReadExactly(handle, headerBytes, 8);
        var result = new Dictionary<string, RawTensor>(StringComparer.Ordinal);
        long dataStart = 8 + (long)headerLength;
        try
        {
            using var header = JsonDocument.Parse(headerBytes);
            foreach (var entry in header.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__") continue;
                var dtype = entry.Value.GetProperty("dtype").GetString()!;
                if (!Types.TryGetValue(dtype, out var type))
                    throw new ModelFormatException(
                        $"tensor '{entry.Name}' has dtype {dtype}, which CodiLab does not read.", path,
                        "store weights as F32, BF16 or F16.");
                var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                var length = offsets[1] - offsets[0];
                var expected = shape.Aggregate(1L, (a, b) => a * b) * RawTensor.SizeOf(type);
                if (length != expected)
                    throw new ModelFormatException(
                        $"tensor '{entry.Name}' spans {length} bytes "
                        + $"but its shape [{string.Join(", ", shape)}] and dtype {dtype} need {expected}.",
                        path, fix);
                if (dataStart + offsets[1] > size)
                    throw new ModelFormatException(
                        $"tensor '{entry.Name}' ends at byte {dataStart + offsets[1]} but the file has {size}: the file is truncated.",
                        path, fix);
                var at = dataStart + offsets[0];
                result[entry.Name] = RawTensor.Deferred(type, shape, target => ReadExactly(handle, target, at));
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new ModelFormatException($"the safetensors header is malformed ({e.Message}).", path, fix, e);
        }
        return result;
    }

    // RandomAccess.Read may return fewer bytes than asked; the header check has already made sure they exist.
    private static void ReadExactly(Microsoft.Win32.SafeHandles.SafeFileHandle handle, Span<byte> target, long offset)
    {
        while (target.Length > 0)
        {
            var n = RandomAccess.Read(handle, target, offset);
            if (n == 0) throw new EndOfStreamException($"the file ended at byte {offset}");
            target = target[n..];
            offset += n;
        }
    }

    /// <summary>Writes tensors in name order (temporary file, then rename).</summary>
    public static void Write(string path, IReadOnlyDictionary<string, RawTensor> tensors)
    {
        var names = Types.ToDictionary(kv => kv.Value, kv => kv.Key);
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        long offset = 0;
        foreach (var (name, t) in tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            header[name] = new { dtype = names[t.Type], shape = t.Shape, data_offsets = new[] { offset, offset + t.Data.Length } };
            offset += t.Data.Length;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        // The format asks for 8-byte alignment of the data; pad the header with spaces.
        var padded = json.Length + (8 - json.Length % 8) % 8;
        var temp = path + ".tmp";
        using (var file = File.Create(temp))
        {
            file.Write(BitConverter.GetBytes((ulong)padded));
            file.Write(json);
            for (int i = json.Length; i < padded; i++) file.WriteByte((byte)' ');
            foreach (var (_, t) in tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal)) file.Write(t.Data);
        }
        File.Move(temp, path, overwrite: true);
    }
}

/// <summary>An open safetensors file whose tensors read their bytes on demand (<see cref="SafeTensors.Open"/>).</summary>
public sealed class SafeTensorsFile : IDisposable
{
    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _handle;

    internal SafeTensorsFile(Microsoft.Win32.SafeHandles.SafeFileHandle handle, IReadOnlyDictionary<string, RawTensor> tensors)
    {
        _handle = handle;
        Tensors = tensors;
    }

    /// <summary>Every tensor, deferred: usable while this file is open.</summary>
    public IReadOnlyDictionary<string, RawTensor> Tensors { get; }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _handle.Dispose();
}
