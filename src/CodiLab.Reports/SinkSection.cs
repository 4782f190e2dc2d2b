using CodiLab.Analysis;
using static CodiLab.Reports.ReportFormat;

namespace CodiLab.Reports;

/// <summary>
/// The Phase 1 report's "sink or hub" section: raw against value-weighted α for P0, BOT and every latent with a
/// verdict, the sink rate per layer, and the hub among latents under both weightings (docs/experiment.md#sink-or-hub).
/// </summary>
public static class SinkSection
{
    /// <summary>The per-layer sink-rate figure, relative to the report.</summary>
    public const string Figure = "figures/latent/7_sink_rate_by_layer.png";

    /// <summary>Writes the section (a short note when the extraction recorded no value norms).</summary>
    public static void Render(Phase1ReportInput input, Action<string> line)
    {
        void Line(string text = "") => line(text);
        Line("### Sink or hub: raw against value-weighted attention");
        Line();
        if (input.Evidence.Sink is not { } sink)
        {
            Line("This extraction recorded no value norms, so raw attention cannot be set against value-weighted attention "
                + "(rerun the extract stage with this version to get them).");
            Line();
            return;
        }
        Line("Value-weighted attention multiplies each key's attention by ‖W_O^h v_key‖, the size of what head h would write "
            + "from that key (v from the head's KV group on LLaMA; the output projection's bias left out), then renormalises "
            + "the row. α = mean over the latent queries that see the key, per problem, averaged over heads. "
            + $"Rule: raw α at least {F(SinkAnalysis.HighRaw, "0")}× its uniform-causal expectation is high; a high key that keeps "
            + $"less than {F(SinkAnalysis.SinkRetained, "0.0")} of it after weighting is a **sink** (attention parked where the "
            + "head writes almost nothing), one that keeps more is a **hub**; a key that is not high is **neither**. "
            + $"P0 is {P0(input.Run.Arch)}.");
        Line();
        Line("| key | raw α [95% CI] | value-weighted α [95% CI] | retained (weighted ÷ raw) [95% CI] "
            + "| raw ÷ uniform [95% CI] | verdict |");
        Line("|---|---|---|---|---|---|");
        foreach (var k in sink.Keys)
            Line($"| {k.Key} | {CI(k.RawAlpha)} | {CI(k.WeightedAlpha)} | {Maybe(k.Retained, "0.00")} | {Maybe(k.RawToUniform, "0.00")} "
                + $"| **{k.Verdict}** |");
        Line();
        if (sink.Keys.FirstOrDefault(k => k.Key == "P0") is { } p0) Line($"Position 0 (P0): **{Sentence(p0)}**.");
        Line();
        ByLayer(sink, line);
        Line("Hub (largest α) among keys, raw and value-weighted: "
            + string.Join("; ", sink.HubArgmaxRaw.Zip(sink.HubArgmaxWeighted).Select(p =>
                $"over {p.First.Keys}: raw **{p.First.WithSelf}** with self-attention / **{p.First.WithoutSelf}** without, "
                + $"value-weighted **{p.Second.WithSelf}** / **{p.Second.WithoutSelf}**")) + ".");
        Line();
        Line($"![sink rate by layer]({Figure})");
        Line();
    }

    private static void ByLayer(SinkEvidence sink, Action<string> line)
    {
        line($"Sink rate by layer (%): per problem, the share of the layer's heads whose α for the key exceeds "
            + $"{F(sink.Threshold, "0.0")}, averaged over problems; the last row pools every head, with its 95% interval.");
        line("");
        line("| layer | " + string.Join(" | ", sink.ByLayer.Select(r => $"{r.Key} raw | {r.Key} value-weighted")) + " |");
        line("|---|" + string.Concat(sink.ByLayer.Select(_ => "---|---|")));
        var layers = sink.ByLayer.Count == 0 ? 0 : sink.ByLayer[0].Raw.Count;
        for (int l = 0; l < layers; l++)
            line($"| {l} | " + string.Join(" | ", sink.ByLayer.Select(r => $"{F(r.Raw[l], "0.0")} | {F(r.Weighted[l], "0.0")}")) + " |");
        line("| all | " + string.Join(" | ", sink.ByLayer.Select(r => $"{CI(r.RawAllLayers, "0.0")} | {CI(r.WeightedAllLayers, "0.0")}"))
            + " |");
        line("");
    }

    private static string Maybe(Interval? i, string format) => i is null ? "–" : CI(i, format);

    private static string P0(string arch) => arch == "gpt2" ? "the first question token (GPT-2 has no BOS)" : "BOS";

    private static string Sentence(SinkKey k) => k.Verdict switch
    {
        SinkAnalysis.Sink => $"a sink: raw α {F(k.RawAlpha.Value, "0.000")} ({F(k.RawToUniform?.Value, "0.0")}× uniform), "
            + $"value-weighted {F(k.WeightedAlpha.Value, "0.000")} (keeps {F(100 * k.Retained?.Value, "0")}%)",
        SinkAnalysis.Hub => $"a hub: raw α {F(k.RawAlpha.Value, "0.000")} ({F(k.RawToUniform?.Value, "0.0")}× uniform) and "
            + $"value-weighted {F(k.WeightedAlpha.Value, "0.000")} (keeps {F(100 * k.Retained?.Value, "0")}%)",
        _ => $"neither: raw α {F(k.RawAlpha.Value, "0.000")} is under {F(SinkAnalysis.HighRaw, "0")}× its uniform expectation",
    };
}
