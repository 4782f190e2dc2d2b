using CodiLab.Analysis;
using CodiLab.Reports;
using Xunit;

namespace CodiLab.Tests.Reports;

/// <summary>
/// Attention rows built key by key with value norms, weighted by <see cref="SinkAnalysis.Weight"/>, cut into the latent
/// view and run through the real analysis, evidence and report: P0 drawing most of the raw attention while its values
/// are tiny must be called a sink; drawing it with ordinary values, a hub.
/// </summary>
public sealed class SinkReportTests
{
    private const int N = 5, L = 2, H = 3, K = 6;
    private static readonly int[] Prompts = [12, 17, 23, 30, 41];

    [Fact]
    public void High_raw_and_low_value_weighted_attention_at_P0_is_called_a_sink()
    {
        var (input, md) = Run(p0Norm: 0.01f);
        var p0 = input.Evidence.Sink!.Keys.Single(k => k.Key == "P0");
        Assert.Equal(SinkAnalysis.Sink, p0.Verdict);
        Assert.True(p0.RawAlpha.Value > 0.3 && p0.WeightedAlpha.Value < 0.1, $"raw {p0.RawAlpha.Value}, weighted {p0.WeightedAlpha.Value}");
        Assert.Contains("Position 0 (P0): **a sink: raw α", md, StringComparison.Ordinal);
        Assert.Contains($"| P0 | {ReportFormat.CI(p0.RawAlpha)} | {ReportFormat.CI(p0.WeightedAlpha)} |", md, StringComparison.Ordinal);
        // Every head parks > 0.3 on P0 in layer 0 (raw), none does once weighted.
        var rates = input.Evidence.Sink.ByLayer.Single(r => r.Key == "P0");
        Assert.Equal([100.0, 0.0], rates.Raw);
        Assert.Equal([0.0, 0.0], rates.Weighted);
        Assert.Contains("| 0 | 100.0 | 0.0 |", md, StringComparison.Ordinal);
        Assert.Contains("![sink rate by layer](figures/latent/7_sink_rate_by_layer.png)", md, StringComparison.Ordinal);
    }

    [Fact]
    public void High_raw_and_high_value_weighted_attention_at_P0_is_called_a_hub()
    {
        var (input, md) = Run(p0Norm: 1f);
        var p0 = input.Evidence.Sink!.Keys.Single(k => k.Key == "P0");
        Assert.Equal(SinkAnalysis.Hub, p0.Verdict);
        Assert.Equal(p0.RawAlpha.Value, p0.WeightedAlpha.Value, 5); // equal norms: weighting changes nothing
        Assert.Contains("Position 0 (P0): **a hub: raw α", md, StringComparison.Ordinal);
        // The latents read nothing special: each is at uniform, so neither.
        Assert.All(input.Evidence.Sink.Keys.Where(k => k.Key.StartsWith('z')), k => Assert.Equal(SinkAnalysis.Neither, k.Verdict));
    }

    [Fact]
    public void The_sink_figure_is_drawn_when_the_evidence_has_value_weighted_attention()
    {
        var (input, _) = Run(p0Norm: 0.01f);
        var figures = new SyntheticRun(L, H).Build().Figures with { Evidence = input.Evidence };
        var sink = Phase1Figures.Render(figures).Single(f => f.File == SinkSection.Figure);
        CodiLab.Tests.Support.PngAssert.PanelGrid(sink.Png, 2, 2, sink.File);
        Assert.Contains(SinkSection.Figure, Phase1Figures.Files);
    }

    // Layer 0: every head puts 0.8 of each row on P0 (the rest uniform); layer 1: uniform rows. Value norms are 1 except at
    // P0, whose norm is p0Norm in every head.
    private static (Phase1ReportInput Input, string Markdown) Run(float p0Norm)
    {
        var (rows, cols) = (K + 1, K + 3);
        var raw = new float[N * L * H * rows * cols];
        var weighted = new float[raw.Length];
        for (int n = 0; n < N; n++)
            for (int lh = 0; lh < L * H; lh++)
                for (int r = 0; r < rows; r++)
                {
                    var t = Prompts[n] + r; // keys: P0, question, BOT, z1..z_r
                    var row = Enumerable.Repeat(lh < H ? 0.2f / (t - 1) : 1f / t, t).ToArray();
                    if (lh < H) row[0] = 0.8f;
                    var norms = Enumerable.Range(0, t).Select(p => p == 0 ? p0Norm : 1f).ToArray();
                    var at = ((n * L * H + lh) * rows + r) * cols;
                    Cut(row, Prompts[n], r, raw.AsSpan(at, cols));
                    Cut(SinkAnalysis.Weight(row, norms), Prompts[n], r, weighted.AsSpan(at, cols));
                }
        var info = new SyntheticRun(L, H, N).Info() with
        {
            ProblemRecords = [.. Enumerable.Range(0, N).Select(i => new ProblemRecord(i, $"id_{i}", 40, true, null, Prompts[i], []))],
        };
        var latent = new LatentAnalysis(raw, N, L, H, K, Prompts);
        var latentWeighted = new LatentAnalysis(weighted, N, L, H, K, Prompts);
        var seedRaw = new float[N * L * H * 36];
        var (mean, std) = SeedAnalysis.MeanStd(seedRaw, N);
        var stats = SeedAnalysis.Stats("sink", N, L, H, mean, std, 4);
        var seed = SeedAnalysis.Summary("sink", SeedAnalysis.Analyze(mean, L * H), 2.0, 0.3, 0.1);
        var latentStats = LatentReport.Stats("sink", latent, 4);
        var evidence = Phase1Evidence.Build(seedRaw, info, latent, seed, stats, latentStats.Consistency, 0.3, 0.1)
            with { Sink = SinkAnalysis.Build(latent, latentWeighted) };
        var input = new Phase1ReportInput(Phase1Inputs.Run(), info, seed, stats, LatentReport.Summary("sink", 0, latent), latentStats,
            evidence);
        return (input, Phase1Report.Render(input));
    }

    // A full row over [P0, question (prompt − 2 tokens), BOT, z1..z_r] cut into the latent view's columns.
    private static void Cut(float[] row, int prompt, int r, Span<float> into)
    {
        into.Fill(float.NaN);
        into[0] = row[0];
        into[1] = row.Skip(1).Take(prompt - 2).Sum();
        into[2] = row[prompt - 1];
        for (int b = 1; b <= r; b++) into[2 + b] = row[prompt - 1 + b];
    }
}
