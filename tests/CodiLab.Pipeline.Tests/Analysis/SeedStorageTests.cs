using CodiLab.Analysis;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Stages;
using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>
/// The seed-convention arrays as the pipeline really writes them: extract's per-problem matrices (structural zeros
/// where the seed's indexing leaves them) and aggregate's mean, stored through float16 as the seed saved it. One
/// small run of a generated tiny LLaMA up to aggregate, shared by the facts: 6 problems, so the mean is not a
/// division by a power of two.
/// </summary>
public sealed class SeedStorageTests : IClassFixture<SeedStorageTests.Run>
{
    private const int S = Conventions.SeedSize;
    private readonly Run _run;

    public SeedStorageTests(Run run) => _run = run;

    /// <summary>sample → model → extract → aggregate on 6 problems, in a temporary folder.</summary>
    public sealed class Run : IDisposable
    {
        private readonly TempFolder _dir = new();

        public Run()
        {
            var env = new PipelineEnvironment(
                Path.Combine(_dir.Path, "artifacts"), Path.Combine(_dir.Path, "data"), new StringWriter(), "test");
            var spec = SpecLoader.Load(_dir.Write("storage.yaml", "extends: default:tiny-llama\nname: storage\ndataset:\n  sample: 6\n"));
            StageCatalog.Runner(env).Run(spec, stageName: "aggregate");
            string View(string file) => Path.Combine(env.ExperimentRoot("storage"), "Phase1", file);
            Info = Phase1Files.ReadMetadata(View(Phase1Files.Metadata));
            Raw = Npy.Read(View(Phase1Files.SeedRaw));
            Avg = Npy.Read(View(Phase1Files.SeedAvg));
        }

        public ExtractMetadata Info { get; }

        public NdArray Raw { get; }

        public NdArray Avg { get; }

        public void Dispose() => _dir.Dispose();
    }

    [Fact]
    public void Extracted_seed_matrices_are_zero_exactly_where_the_seed_never_writes()
    {
        var (raw, info) = (_run.Raw, _run.Info);
        Assert.Equal([info.Problems, info.Layers, info.Heads, S, S], raw.Shape);
        Assert.Equal(0, info.Failures);
        long lower = 0, nonzeroLower = 0;
        for (int p = 0; p < info.Problems; p++)
            for (int l = 0; l < info.Layers; l++)
                for (int h = 0; h < info.Heads; h++)
                    for (int i = 0; i < S; i++)
                    {
                        double rowSum = 0;
                        for (int j = 0; j < S; j++)
                        {
                            var v = raw.Values[raw.Index(p, l, h, i, j)];
                            rowSum += v;
                            // Row 0 (the BOT query), column 5 (z6, never fed), the diagonal and above: exactly 0.
                            if (i == 0 || j == S - 1 || j >= i)
                                Assert.True(v == 0f, $"problem {p} L{l}H{h} [{i},{j}] = {v}, not a structural zero");
                            else
                            {
                                lower++;
                                if (v > 0) nonzeroLower++;
                            }
                        }
                        // The cells are part of one softmax row (float16-rounded), so a row never holds more than 1.
                        Assert.InRange(rowSum, 0, 1 + 1e-3);
                    }
        // Attention from z_i to earlier latents is a softmax probability: the lower cells are positive.
        Assert.Equal(info.Problems * info.Layers * info.Heads * 15L, lower);
        Assert.True(nonzeroLower > lower * 9 / 10, $"only {nonzeroLower} of {lower} lower cells are non-zero");
    }

    [Fact]
    public void Aggregate_stores_the_mean_rounded_through_float16()
    {
        var (raw, avg, info) = (_run.Raw, _run.Avg, _run.Info);
        Assert.Equal("<f2", avg.Descr);
        Assert.Equal([info.Layers, info.Heads, S, S], avg.Shape);
        var cells = (int)avg.Count;
        var roundedAway = 0;
        for (int c = 0; c < cells; c++)
        {
            // The seed's mean: float32 sum over problems in order, then one division.
            var sum = 0f;
            for (int p = 0; p < info.Problems; p++) sum += raw.Values[(long)p * cells + c];
            var mean = sum / info.Problems;
            Assert.Equal((float)(Half)mean, avg.Values[c]);
            if ((float)(Half)mean != mean) roundedAway++;
            var (i, j) = (c / S % S, c % S);
            if (i == 0 || j == S - 1 || j >= i) Assert.Equal(0f, avg.Values[c]); // the zeros survive the mean
        }
        // Most means are not float16 values themselves, so a float32 file would fail the equality above.
        Assert.True(roundedAway > cells / 4, $"only {roundedAway} of {cells} means change when rounded to float16");
    }
}
