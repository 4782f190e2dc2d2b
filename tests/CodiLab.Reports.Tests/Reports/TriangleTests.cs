using CodiLab.Analysis;
using CodiLab.Reports;
using Xunit;

namespace CodiLab.Tests.Reports;

/// <summary>
/// Attention that is exactly the causal triangle (every query spreads its attention evenly over the keys it can see),
/// run through the real aggregation, analysis, evidence and report: the seed's "hub" must be called an artefact, and
/// every seed and latent score must sit at its uniform-causal expectation.
/// </summary>
public sealed class TriangleTests
{
    private const int N = 5, L = 2, H = 3, K = 6, S = 6;
    private static readonly int[] Prompts = [12, 17, 23, 30, 41];

    // Seed cells M[s, j] = A(z_s → z_(j+1)) = 1/(P + s) for j < s; the rest is structurally zero.
    private static float[] SeedRaw() => [.. Enumerable.Range(0, N * L * H * S * S).Select(c =>
    {
        var (n, i, j) = (c / (L * H * S * S), c / S % S, c % S);
        return i >= 1 && j < i ? 1f / (Prompts[n] + i) : 0f;
    })];

    // Latent rows: query row r (BOT = 0, z_a = a) sees P + r keys, 1/T each; the question holds P − 2 of them.
    private static float[] LatentRaw() => [.. Enumerable.Range(0, N * L * H * (K + 1) * (K + 3)).Select(c =>
    {
        var (n, r, col) = (c / (L * H * (K + 1) * (K + 3)), c / (K + 3) % (K + 1), c % (K + 3));
        var t = Prompts[n] + r;
        return col == 1 ? (float)(Prompts[n] - 2) / t : col >= 3 && col - 2 > r ? float.NaN : 1f / t;
    })];

    private static ExtractMetadata Info()
    {
        var layouts = new ConventionLayouts(
            new SeedLayout("attention_patterns_raw.npy", "[N, L, H, 6, 6]", Conventions.SeedRowsReally, Conventions.SeedColumnsReally, "M"),
            new LatentLayout("latent_attention_raw.npy", "[N, L, H, K+1, K+3]", Conventions.LatentRows(K), Conventions.LatentColumns(K), "A"));
        return new ExtractMetadata("triangle", null, N, L, H, [.. Enumerable.Range(21, K)], "dataset.json",
            [.. Enumerable.Range(0, N).Select(i => new ProblemRecord(i, $"id_{i}", 40, true, null, Prompts[i], []))],
            K, 0, null, "float32", "cpu", layouts);
    }

    private static (Phase1ReportInput Input, string Markdown) Run()
    {
        var info = Info();
        var raw = SeedRaw();
        var (mean, std) = SeedAnalysis.MeanStd(raw, N);
        var stats = SeedAnalysis.Stats("triangle", N, L, H, mean, std, 4);
        var seed = SeedAnalysis.Summary("triangle", SeedAnalysis.Analyze(mean, L * H), 2.0, 0.3, 0.1);
        var latent = new LatentAnalysis(LatentRaw(), N, L, H, K, info.PromptTokens);
        var latentStats = LatentReport.Stats("triangle", latent, 4);
        var summary = LatentReport.Summary("triangle", 0, latent);
        var evidence = Phase1Evidence.Build(raw, info, latent, seed, stats, latentStats.Consistency, 0.3, 0.1);
        var input = new Phase1ReportInput(Phase1Inputs.Run(), info, seed, stats, summary, latentStats, evidence);
        return (input, Phase1Report.Render(input));
    }

    [Fact]
    public void The_seeds_hub_on_the_causal_triangle_is_called_an_artefact()
    {
        var (input, md) = Run();
        Assert.Equal(0, input.Seed.Hub.HubPosition); // the seed would report position 0 as its hub
        Assert.Contains("Against the uniform-causal expectation: **artefact: the seed's hub equals the uniform-causal expectation "
            + "(the causal triangle), not a hub**.", md, StringComparison.Ordinal);
        Assert.Contains("| \"position 0 is a working-memory hub\" | seed hub[0] (column sum of key z1) ÷ its uniform-causal expectation "
            + "| 1.000 [1.000, 1.000] | artefact: at the causal triangle's expectation |", md, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_score_of_the_triangle_is_at_its_uniform_expectation()
    {
        var ev = Run().Input.Evidence;
        var scores = ev.Seed.Hub.Concat(ev.Seed.Sequential).Concat(ev.Seed.Skip).Concat(ev.Latent.Alpha).Concat(ev.Latent.AlphaWithoutSelf)
            .Concat(ev.Latent.Sequential).Concat(ev.Latent.Self).Concat(ev.Latent.Skip).Concat(ev.Latent.Mass.Values.SelectMany(v => v));
        foreach (var s in scores)
        {
            if (s.Uniform == 0)
            {
                Assert.Equal(Scored.Structural, s.Verdict); // hub[5]: column z6, never filled
                continue;
            }
            Assert.Equal(1.0, s.Ratio!.Value, 5);
            Assert.True(s.Verdict == Scored.AtUniform, $"{s.Metric} ({s.Really}): {s.Verdict}");
        }
        // The seed's hub scores are Σ_(s>j) 1/T_s, averaged over problems: the triangle's shape.
        var expected = Enumerable.Range(0, S).Select(j => Prompts.Average(p => Enumerable.Range(j + 1, S - 1 - j).Sum(s => 1.0 / (p + s))));
        Assert.Equal(expected.Select(v => Math.Round(v, 5)), ev.Seed.Hub.Select(h => Math.Round(h.Measured.Value, 5)));
    }
}
