using CodiLab.Models;
using Xunit;
using static TorchSharp.torch;

namespace CodiLab.Tests.Models;

public sealed class TorchRuntimeTests
{
    [Fact]
    public void Libtorch_loads_and_multiplies_a_tensor()
    {
        var description = TorchRuntime.Initialize();

        using var a = tensor(new float[] { 1, 2, 3, 4 }, [2, 2]);
        using var b = tensor(new float[] { 5, 6, 7, 8 }, [2, 2]);
        using var c = a.matmul(b);

        Assert.Contains("TorchSharp", description, StringComparison.Ordinal);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c.data<float>().ToArray());
    }
}
