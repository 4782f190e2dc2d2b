using CodiLab.Models;
using CodiLab.Models.Checkpoints;
using CodiLab.Models.Codi;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Models;

/// <summary>Deferred safetensors reads and the measured batch-size budget.</summary>
public sealed class LoaderMemoryTests
{
    [Fact]
    public void Deferred_tensors_hold_the_same_bytes_as_an_eager_read_and_convert_without_a_copy_when_the_type_matches()
    {
        TorchRuntime.Initialize();
        using var folder = new TempFolder();
        TinyModel.Write("llama", 42, folder.Path);
        var path = Path.Combine(folder.Path, "model.safetensors");
        var eager = SafeTensors.Read(path);
        using var file = SafeTensors.Open(path);

        Assert.Equal(eager.Keys.Order(StringComparer.Ordinal), file.Tensors.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, tensor) in file.Tensors)
        {
            using var stored = tensor.ToTensor(tensor.ScalarType);
            Assert.Equal(tensor.ScalarType, stored.dtype);
            Assert.Equal(eager[key].Data, stored.bytes.ToArray());
            Assert.Equal(eager[key].Data, tensor.Data);
        }
    }

    [Fact]
    public void Auto_batch_size_never_spends_more_than_the_budget_at_the_measured_row_cost()
    {
        TorchRuntime.Initialize();
        using var folder = new TempFolder();
        TinyModel.Write("gpt2", 42, folder.Path);
        using var model = CodiModel.Load(folder.Path);
        // Unmeasurable (not Linux, or the batch ran in memory the process already held): the estimate is used instead.
        var row = model.MeasuredRowBytes(40) ?? model.EstimatedRowBytes(40);
        Assert.True(row > 0);
        Assert.Equal(1, model.AutoBatchSize(40, 0));
        // Each call measures again, so the exact count varies; but a row is never costed below one layer's working
        // set, so the rows chosen never hold more than the budget at that floor.
        var floor = Math.Max(1, model.EstimatedRowBytes(40) / model.Loaded.Config.Layers);
        foreach (var rows in new[] { 1, 3, 10 })
        {
            var budget = rows * (row + row / 4);
            Assert.InRange(model.AutoBatchSize(40, budget), 1, Math.Max(1, budget / floor));
        }
    }
}
