using CodiLab.Pipeline.Data;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Pipeline;

/// <summary>The .npy writer and readers: block-by-block writing, bulk and by-row reading, atomic commits.</summary>
public sealed class NpyTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static float[] Values(int n) => [.. Enumerable.Range(0, n).Select(i => (i % 17) * 0.25f - 1.5f)];

    [Theory]
    [InlineData(NpyDType.Float16)]
    [InlineData(NpyDType.Float32)]
    [InlineData(NpyDType.Int32)]
    public void Written_in_blocks_it_reads_back_whole_and_by_rows(NpyDType dtype)
    {
        var path = Path.Combine(_dir.Path, "a.npy");
        var values = Values(7 * 3 * 5);
        using (var writer = new NpyWriter(path, [7, 3, 5], dtype))
        {
            writer.Append(values.AsSpan(0, 30));   // rows 0..1
            writer.Append(values.AsSpan(30, 75));  // rows 2..6
            writer.Commit();
        }

        var whole = Npy.Read(path);
        Assert.Equal([7L, 3, 5], whole.Shape);
        Assert.Equal(Npy.Descr(dtype), whole.Descr);
        var expected = dtype == NpyDType.Int32 ? values.Select(v => (float)(int)v).ToArray() : values;
        Assert.Equal(expected, whole.Values);
        using var reader = NpyReader.Open(path);
        var rows = new float[2 * 15];
        reader.ReadRows(4, 2, rows);
        Assert.Equal(expected.Skip(60).Take(30), rows);
        var blocks = reader.Blocks(3).Select(b => (b.First, b.Count, Values: b.Values.Take(b.Count * 15).ToArray())).ToList();
        Assert.Equal([0L, 3, 6], blocks.Select(b => b.First));
        Assert.Equal(expected, blocks.SelectMany(b => b.Values));
    }

    [Fact]
    public void A_streaming_pass_reads_every_row_once_in_order_and_can_read_again()
    {
        var path = Path.Combine(_dir.Path, "s.npy");
        var values = Values(9 * 4);
        Npy.Write(path, [9, 4], values, half: false);
        var blocks = Npy.Blocks(path);
        for (int pass = 0; pass < 2; pass++)
        {
            var seen = new List<float>();
            var next = 0L;
            foreach (var (first, count, block) in blocks())
            {
                Assert.Equal(next, first);
                seen.AddRange(block.Take(count * 4));
                next += count;
            }
            Assert.Equal(values, seen);
        }
        // Streamed with the shape its metadata gives: another shape is a corrupt file, said so before any row is read.
        Assert.Equal(9, Npy.Blocks(path, 9, 4)().Sum(b => b.Count));
        var wrong = Assert.Throws<CodiLabException>(() => Npy.Blocks(path, 10, 4));
        Assert.Equal(ExitCodes.Corrupt, wrong.ExitCode);
        Assert.Contains("holds 9 rows of 4 values where its metadata says 10 of 4", wrong.Message, StringComparison.Ordinal);
        using var reader = NpyReader.Open(path);
        Assert.Equal(9, reader.RowsPerBlock());        // 32 MB holds every row
        Assert.Equal(2, reader.RowsPerBlock(8 * 4));   // 32 bytes: two rows of four floats
        Assert.Equal(1, reader.RowsPerBlock(1));       // at least one row
    }

    [Fact]
    public void The_block_writer_writes_the_same_bytes_as_the_whole_array_writer()
    {
        // Given one array written whole and the same written one row at a time, both float16,
        var values = Values(200_000); // larger than one conversion block
        var (whole, rows) = (Path.Combine(_dir.Path, "whole.npy"), Path.Combine(_dir.Path, "rows.npy"));
        Npy.Write(whole, [4, 50_000], values, half: true);
        using (var writer = new NpyWriter(rows, [4, 50_000], NpyDType.Float16))
        {
            for (int r = 0; r < 4; r++) writer.Append(values.AsSpan(r * 50_000, 50_000));
            writer.Commit();
        }

        // then the files are byte-identical, and the float16 values are what a cast gives.
        Assert.Equal(File.ReadAllBytes(whole), File.ReadAllBytes(rows));
        Assert.Equal(values.Select(v => (float)(Half)v), Npy.Read(rows).Values);
    }

    [Fact]
    public void An_incomplete_array_is_never_moved_into_place()
    {
        var path = Path.Combine(_dir.Path, "partial.npy");
        using (var writer = new NpyWriter(path, [3, 4], NpyDType.Float32))
        {
            writer.Append(new float[8]);
            Assert.Throws<InvalidOperationException>(writer.Commit);
        }

        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(_dir.Path)); // the temporary file is removed too
    }

    [Fact]
    public void A_truncated_file_is_refused_when_opened()
    {
        var path = Path.Combine(_dir.Path, "t.npy");
        Npy.Write(path, [10, 10], new float[100], half: false);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^40]);

        var error = Assert.Throws<InvalidDataException>(() => NpyReader.Open(path));
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
    }
}
