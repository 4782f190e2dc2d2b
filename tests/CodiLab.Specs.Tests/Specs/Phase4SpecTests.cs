using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Specs;

/// <summary>The <c>phase4</c> section's size rules.</summary>
public sealed class Phase4SpecTests : IDisposable
{
    private const string Valid = "model:\n  arch: llama\n  source: generated\ndataset:\n  source: synthetic\n  size: 50\n  sample: 10\n";
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_synthetic_full_set_may_be_larger_than_the_dataset_up_to_the_generator_bound()
    {
        var spec = SpecLoader.Load(_dir.Write("grow.yaml", Valid + "phase4:\n  sample: 2000\n"));
        Assert.Equal(new SampleSize.Count(2000), spec.Phase4.Sample);

        var error = Assert.Throws<SpecException>(() => SpecLoader.Load(_dir.Write("huge.yaml", Valid + "phase4:\n  sample: 2000000\n")));
        Assert.Contains("more synthetic problems than CodiLab generates", error.Diagnostics[0].Message, StringComparison.Ordinal);
        Assert.Equal((9, 11), (error.Diagnostics[0].Mark.Line, error.Diagnostics[0].Mark.Column));
    }

    [Fact]
    public void A_full_set_smaller_than_the_Phase1_sample_is_refused()
    {
        var error = Assert.Throws<SpecException>(() => SpecLoader.Load(_dir.Write("small.yaml", Valid + "phase4:\n  sample: 5\n")));
        Assert.Contains("smaller than the Phase 1 sample", error.Diagnostics[0].Message, StringComparison.Ordinal);
    }
}
