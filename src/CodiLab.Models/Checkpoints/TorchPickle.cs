using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace CodiLab.Models.Checkpoints;

/// <summary>
/// Reads <c>pytorch_model.bin</c> as written by <c>torch.save(state_dict)</c>: a zip holding
/// <c>&lt;root&gt;/data.pkl</c> (a pickle of a dict of <c>torch._utils._rebuild_tensor_v2</c> calls whose
/// storages are persistent ids) and <c>&lt;root&gt;/data/&lt;key&gt;</c> (raw little-endian storages).
/// Only the pickle opcodes such files use are understood; anything else is reported, never guessed.
/// Offsets and strides are honoured, and keys may share a storage (a tied head does).
/// </summary>
public static class TorchPickle
{
    private sealed record PyGlobal(string Module, string Name);
    private sealed record StorageRef(StoredType Type, string Key, long Count);
    private sealed record Mark;
    private sealed class PyDict : List<KeyValuePair<object, object?>>;

    private static readonly Mark MarkObject = new();
    private const string Fix = "the file is damaged, truncated or not a torch.save state dict; copy it again (or use model.safetensors).";

    /// <summary>Reads every tensor of the state dict.</summary>
    public static IReadOnlyDictionary<string, RawTensor> Read(string path)
    {
        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
            throw new ModelFormatException(
                "it is not a zip archive (torch.save's format since PyTorch 1.6); it may be truncated or in the legacy format.",
                path, Fix, e);
        }
        using (zip)
        {
            var pkl = zip.Entries.FirstOrDefault(e =>
                    e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl")
                ?? throw new ModelFormatException("the archive holds no data.pkl.", path, Fix);
            var root = pkl.FullName[..^"data.pkl".Length];
            object? value;
            try
            {
                value = new Unpickler(ReadAll(pkl), path).Load();
            }
            catch (Exception e)
                when (e is EndOfStreamException or IndexOutOfRangeException or ArgumentOutOfRangeException or InvalidCastException)
            {
                throw new ModelFormatException($"data.pkl is malformed ({e.Message}).", path, Fix, e);
            }
            if (value is not PyDict dict) throw new ModelFormatException("data.pkl does not hold a dict of tensors.", path, Fix);
            var storages = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            var result = new Dictionary<string, RawTensor>(StringComparer.Ordinal);
            foreach (var (k, v) in dict)
            {
                if (k is not string name) continue;
                if (v is not TensorCall call) throw new ModelFormatException($"entry '{name}' is not a tensor.", path, Fix);
                if (!storages.TryGetValue(call.Storage.Key, out var bytes))
                {
                    var entry = zip.GetEntry(root + "data/" + call.Storage.Key)
                        ?? throw new ModelFormatException(
                            $"the storage of '{name}' (data/{call.Storage.Key}) is missing from the archive.", path, Fix);
                    bytes = ReadAll(entry);
                    storages[call.Storage.Key] = bytes;
                }
                result[name] = Materialize(name, call, bytes, path);
            }
            return result;
        }
    }

    private static byte[] ReadAll(ZipArchiveEntry entry)
    {
        try
        {
            using var stream = entry.Open();
            var buffer = new byte[entry.Length];
            stream.ReadExactly(buffer);
            return buffer;
        }
        catch (InvalidDataException e)
        {
            throw new ModelFormatException($"the archive entry {entry.FullName} cannot be read ({e.Message}).",
                entry.Archive.Entries.Count > 0 ? entry.FullName : "", Fix, e);
        }
    }

    private static RawTensor Materialize(string name, TensorCall call, byte[] storage, string path)
    {
        var size = RawTensor.SizeOf(call.Storage.Type);
        var count = call.Shape.Aggregate(1L, (a, b) => a * b);
        if (storage.Length != call.Storage.Count * size)
            throw new ModelFormatException(
                $"the storage of '{name}' has {storage.Length} bytes, {call.Storage.Count * size} expected: the file is truncated.",
                path, Fix);
        var data = new byte[count * size];
        var contiguous = true;
        long expectStride = 1;
        for (int d = call.Shape.Length - 1; d >= 0; d--)
        {
            if (call.Shape[d] != 1 && call.Stride[d] != expectStride) contiguous = false;
            expectStride *= call.Shape[d];
        }
        var maxIndex = call.Offset + call.Shape.Select((s, d) => (s - 1) * call.Stride[d]).Sum();
        if (count > 0 && (maxIndex + 1) * size > storage.Length)
            throw new ModelFormatException($"tensor '{name}' reaches past the end of its storage.", path, Fix);
        if (contiguous)
        {
            Array.Copy(storage, call.Offset * size, data, 0, data.Length);
        }
        else
        {
            var index = new long[call.Shape.Length];
            for (long i = 0; i < count; i++)
            {
                long source = call.Offset;
                for (int d = 0; d < index.Length; d++) source += index[d] * call.Stride[d];
                Array.Copy(storage, source * size, data, i * size, size);
                for (int d = index.Length - 1; d >= 0 && ++index[d] == call.Shape[d]; d--) index[d] = 0;
            }
        }
        return new RawTensor(call.Storage.Type, call.Shape, data);
    }

    private sealed record TensorCall(StorageRef Storage, long Offset, long[] Shape, long[] Stride);

    private sealed class Unpickler(byte[] data, string path)
    {
        private readonly Stack<object?> _stack = new();
        private readonly Dictionary<long, object?> _memo = [];
        private int _pos;

        private byte Byte() => data[_pos++];

        private ReadOnlySpan<byte> Take(int n)
        {
            if (_pos + n > data.Length) throw new EndOfStreamException("data.pkl ends in the middle of an instruction");
            var span = data.AsSpan(_pos, n);
            _pos += n;
            return span;
        }

        private List<object?> PopToMark()
        {
            var items = new List<object?>();
            while (_stack.Peek() is not Mark) items.Add(_stack.Pop());
            _stack.Pop();
            items.Reverse();
            return items;
        }

        // A 4-byte little-endian length (BINUNICODE, BINSTRING).
        private int UInt32Length() => (int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

        // STACK_GLOBAL: the name on top, its module below it.
        private PyGlobal StackGlobal()
        {
            var n = (string)_stack.Pop()!;
            var m = (string)_stack.Pop()!;
            return new PyGlobal(m, n);
        }

        private object?[] Tuple3()
        {
            var c = _stack.Pop();
            var b = _stack.Pop();
            var a = _stack.Pop();
            return new[] { a, b, c };
        }

        // REDUCE: the argument tuple on top, the callable below it.
        private object ReduceTop()
        {
            var args = (object?[])_stack.Pop()!;
            var f = (PyGlobal)_stack.Pop()!;
            return Reduce(f, args);
        }

        public object? Load()
        {
            while (true)
            {
                if (_pos >= data.Length) throw new EndOfStreamException("data.pkl ends before its STOP instruction");
                var op = Byte();
                switch (op)
                {
                    case 0x80: Byte(); break; // PROTO
                    case 0x95: Take(8); break; // FRAME
                    case 0x2e: return _stack.Pop(); // STOP
                    case 0x7d: _stack.Push(new PyDict()); break; // EMPTY_DICT
                    case 0x5d: _stack.Push(new List<object?>()); break; // EMPTY_LIST
                    case 0x29: _stack.Push(Array.Empty<object?>()); break; // EMPTY_TUPLE
                    case 0x28: _stack.Push(MarkObject); break; // MARK
                    case 0x4e: _stack.Push(null); break; // NONE
                    case 0x88: _stack.Push(true); break; // NEWTRUE
                    case 0x89: _stack.Push(false); break; // NEWFALSE
                    case 0x4b: _stack.Push((long)Byte()); break; // BININT1
                    case 0x4d: _stack.Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break; // BININT2
                    case 0x4a: _stack.Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break; // BININT
                    case 0x8a: _stack.Push(Long1(Take(Byte()))); break; // LONG1
                    case 0x47: _stack.Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break; // BINFLOAT
                    case 0x58: _stack.Push(Encoding.UTF8.GetString(Take(UInt32Length()))); break; // BINUNICODE
                    case 0x8c: _stack.Push(Encoding.UTF8.GetString(Take(Byte()))); break; // SHORT_BINUNICODE
                    case 0x55: _stack.Push(Encoding.Latin1.GetString(Take(Byte()))); break; // SHORT_BINSTRING
                    case 0x54: _stack.Push(Encoding.Latin1.GetString(Take(UInt32Length()))); break; // BINSTRING
                    case 0x71: _memo[Byte()] = _stack.Peek(); break; // BINPUT
                    case 0x72: _memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = _stack.Peek(); break; // LONG_BINPUT
                    case 0x94: _memo[_memo.Count] = _stack.Peek(); break; // MEMOIZE
                    case 0x68: _stack.Push(_memo[Byte()]); break; // BINGET
                    case 0x6a: _stack.Push(_memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))]); break; // LONG_BINGET
                    case 0x63: _stack.Push(new PyGlobal(Line(), Line())); break; // GLOBAL
                    case 0x93: _stack.Push(StackGlobal()); break; // STACK_GLOBAL
                    case 0x74: _stack.Push(PopToMark().ToArray()); break; // TUPLE
                    case 0x85: _stack.Push(new[] { _stack.Pop() }); break; // TUPLE1
                    case 0x86: { var b = _stack.Pop(); var a = _stack.Pop(); _stack.Push(new[] { a, b }); break; } // TUPLE2
                    case 0x87: _stack.Push(Tuple3()); break; // TUPLE3
                    case 0x61: { var v = _stack.Pop(); ((List<object?>)_stack.Peek()!).Add(v); break; } // APPEND
                    case 0x65: { var items = PopToMark(); ((List<object?>)_stack.Peek()!).AddRange(items); break; } // APPENDS
                    case 0x73: { var v = _stack.Pop(); var k = _stack.Pop(); ((PyDict)_stack.Peek()!).Add(new(k!, v)); break; } // SETITEM
                    case 0x75: // SETITEMS
                    {
                        var items = PopToMark();
                        var dict = (PyDict)_stack.Peek()!;
                        for (int i = 0; i + 1 < items.Count; i += 2) dict.Add(new(items[i]!, items[i + 1]));
                        break;
                    }
                    case 0x62: _stack.Pop(); break; // BUILD: state (e.g. an OrderedDict's _metadata) is not needed
                    case 0x51: _stack.Push(PersistentLoad(_stack.Pop())); break; // BINPERSID
                    case 0x52: _stack.Push(ReduceTop()); break; // REDUCE
                    default:
                        throw new ModelFormatException(
                            $"data.pkl uses pickle opcode 0x{op:x2} at byte {_pos - 1}, which a torch.save state dict does not need.",
                            path, Fix);
                }
            }
        }

        private string Line()
        {
            var end = Array.IndexOf(data, (byte)'\n', _pos);
            if (end < 0) throw new EndOfStreamException("unterminated GLOBAL");
            var text = Encoding.ASCII.GetString(data, _pos, end - _pos);
            _pos = end + 1;
            return text;
        }

        private static long Long1(ReadOnlySpan<byte> bytes)
        {
            long v = 0;
            for (int i = bytes.Length - 1; i >= 0; i--) v = (v << 8) | bytes[i];
            if (bytes.Length is > 0 and < 8 && (bytes[^1] & 0x80) != 0) v -= 1L << (8 * bytes.Length);
            return v;
        }

        private object PersistentLoad(object? pid)
        {
            if (pid is object?[] { Length: 5 } t && t[0] is "storage" && t[1] is PyGlobal g && t[2] is string key && t[4] is long count)
            {
                var type = g.Name switch
                {
                    "FloatStorage" => StoredType.Float32,
                    "BFloat16Storage" => StoredType.BFloat16,
                    "HalfStorage" => StoredType.Float16,
                    "DoubleStorage" => StoredType.Float64,
                    "LongStorage" => StoredType.Int64,
                    "IntStorage" => StoredType.Int32,
                    "ByteStorage" => StoredType.UInt8,
                    "BoolStorage" => StoredType.Bool,
                    _ => throw new ModelFormatException(
                        $"storage type {g.Module}.{g.Name} is not supported.", path, "store weights as float32, bfloat16 or float16."),
                };
                return new StorageRef(type, key, count);
            }
            throw new ModelFormatException("data.pkl holds a persistent id that is not a tensor storage.", path, Fix);
        }

        private object Reduce(PyGlobal f, object?[] args) => (f.Module, f.Name) switch
        {
            ("collections", "OrderedDict") => new PyDict(),
            ("torch._utils", "_rebuild_tensor_v2") or ("torch._utils", "_rebuild_tensor") => new TensorCall(
                (StorageRef)args[0]!,
                (long)args[1]!,
                ((object?[])args[2]!).Select(x => (long)x!).ToArray(),
                ((object?[])args[3]!).Select(x => (long)x!).ToArray()),
            ("torch._utils", "_rebuild_parameter") => args[0]!,
            _ => throw new ModelFormatException(
                $"data.pkl calls {f.Module}.{f.Name}, which a state dict of tensors does not need.", path, Fix),
        };
    }
}
