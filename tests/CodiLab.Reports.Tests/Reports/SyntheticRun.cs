using CodiLab.Analysis;
using CodiLab.Reports;

namespace CodiLab.Tests.Reports;

/// <summary>
/// A whole Phase 1 + Phase 2 run of any shape from seeded random attention, through the real analysis code: each
/// query row is a softmax-like spread over the keys it can see (P0 heavy on some heads, the question summed over its
/// tokens), and the seed array is cut from the same rows with the seed's off-by-one. Used to draw figures at real sizes.
/// </summary>
internal sealed class SyntheticRun
{
    public const int K = 6;

    public SyntheticRun(int layers, int heads, int problems = 6, int seed = 1)
    {
        (Layers, Heads, N) = (layers, heads, problems);
        var random = new Random(seed);
        Prompts = [.. Enumerable.Range(0, N).Select(n => 18 + 5 * n)];
        var (rows, cols) = (K + 1, K + 3);
        LatentRaw = new float[N * layers * heads * rows * cols];
        LatentWeighted = new float[LatentRaw.Length];
        SeedRaw = new float[N * layers * heads * 36];
        for (int n = 0; n < N; n++)
            for (int lh = 0; lh < layers * heads; lh++)
            {
                var sink = lh % 3 == 0 ? 8.0 : 1.0;
                for (int r = 0; r < rows; r++)
                {
                    var w = new double[cols];
                    w[0] = sink * (0.5 + random.NextDouble());
                    w[1] = (Prompts[n] - 2) * 0.2 * random.NextDouble();
                    w[2] = 0.5 + random.NextDouble();
                    for (int b = 1; b <= r; b++) w[2 + b] = random.NextDouble() * (lh % 5 == 1 && b == r - 1 ? 6 : 1);
                    var total = w.Sum();
                    for (int c = 0; c < cols; c++)
                        LatentRaw[((n * layers * heads + lh) * rows + r) * cols + c] = c >= 3 && c - 2 > r ? float.NaN : (float)(w[c] / total);
                    // Value-weighted: P0's values are small on the heads that sink there (every question token shares a norm,
                    // so weighting the summed column equals weighting each token).
                    var v = w.Select((x, c) => x * (c == 0 ? (sink > 1 ? 0.05 : 1.0) : c == 2 ? 1.5 : 1.0)).ToArray();
                    var vTotal = v.Sum();
                    for (int c = 0; c < cols; c++)
                        LatentWeighted[((n * layers * heads + lh) * rows + r) * cols + c] =
                            c >= 3 && c - 2 > r ? float.NaN : (float)(v[c] / vTotal);
                }
                for (int s = 1; s < 6; s++)
                    for (int j = 0; j < s; j++)
                        SeedRaw[(n * layers * heads + lh) * 36 + s * 6 + j] =
                            (float)(Half)LatentRaw[((n * layers * heads + lh) * rows + s) * cols + 3 + j];
            }
    }

    public int Layers { get; }
    public int Heads { get; }
    public int N { get; }
    public int[] Prompts { get; }
    public float[] LatentRaw { get; }
    public float[] LatentWeighted { get; }
    public float[] SeedRaw { get; }

    public ExtractMetadata Info()
    {
        var layouts = new ConventionLayouts(
            new SeedLayout("attention_patterns_raw.npy", "[N, L, H, 6, 6]", Conventions.SeedRowsReally, Conventions.SeedColumnsReally, "M"),
            new LatentLayout("latent_attention_raw.npy", "[N, L, H, K+1, K+3]", Conventions.LatentRows(K), Conventions.LatentColumns(K), "A"));
        return new ExtractMetadata("synthetic", null, N, Layers, Heads, [.. Enumerable.Range(21, K)], "dataset.json",
            [.. Enumerable.Range(0, N).Select(i => new ProblemRecord(i, $"id_{i}", 40, true, null, Prompts[i], []))],
            K, 0, null, "float32", "cpu", layouts);
    }

    public (Phase1FigureInput Figures, Phase1ReportInput Report, Phase2FigureInput Figures2, Phase2Summary Summary2) Build()
    {
        var info = Info();
        var (mean, std) = SeedAnalysis.MeanStd(SeedRaw, N);
        float[] rounded = [.. mean.Select(v => (float)(Half)v)];
        var top = Math.Min(20, Layers * Heads);
        var stats = SeedAnalysis.Stats("synthetic", N, Layers, Heads, mean, std, top);
        var seed = SeedAnalysis.Summary("synthetic", SeedAnalysis.Analyze(rounded, Layers * Heads), 2.0, 0.3, 0.1);
        var latent = new LatentAnalysis(LatentRaw, N, Layers, Heads, K, Prompts);
        var latentStats = LatentReport.Stats("synthetic", latent, top);
        var summary = LatentReport.Summary("synthetic", 0, latent);
        var evidence = Phase1Evidence.Build(SeedRaw, info, latent, seed, stats, latentStats.Consistency, 0.3, 0.1) with
        {
            Sink = SinkAnalysis.Build(latent, new LatentAnalysis(LatentWeighted, N, Layers, Heads, K, Prompts)),
        };
        var figures = new Phase1FigureInput($"synthetic {Layers}x{Heads}", info, rounded, stats, seed, latent.Mean, latentStats, summary,
            0.3, 0.1, evidence);
        var run = Phase1Inputs.Run() with { Name = $"synthetic {Layers}x{Heads}" };
        var report = new Phase1ReportInput(run, info, seed, stats, summary, latentStats, evidence);
        var seedHeads = HeadMetrics.Seed(rounded, Layers, Heads);
        var latentHeads = HeadMetrics.Latent(LatentRaw, N, Layers, Heads, K);
        var evidence2 = Phase2Evidence.Build(SeedRaw, info, seedHeads, latentHeads);
        var summary2 = Phase2Summaries.Build("synthetic", Layers, Heads, seedHeads, latentHeads, evidence2);
        var figures2 = new Phase2FigureInput($"synthetic {Layers}x{Heads}", info, rounded, seedHeads, latent.Mean, latentHeads, evidence2);
        return (figures, report, figures2, summary2);
    }
}
