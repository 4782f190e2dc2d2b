using System.Text.Json.Serialization;

namespace CodiLab.Analysis;

/// <summary>
/// One key's raw and value-weighted α side by side (docs/experiment.md#sink-or-hub): α = mean attention to the key over
/// the latent queries that see it, per problem, averaged over heads; value-weighted α uses rows weighted by
/// ‖W_O^h v_key‖ and renormalised. <see cref="Retained"/> is value-weighted ÷ raw (how much of the attention survives
/// as output), <see cref="RawToUniform"/> raw α ÷ the uniform-causal expectation.
/// </summary>
public sealed record SinkKey(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("raw_alpha")] Interval RawAlpha,
    [property: JsonPropertyName("value_weighted_alpha")] Interval WeightedAlpha,
    [property: JsonPropertyName("retained")] Interval? Retained,
    [property: JsonPropertyName("raw_to_uniform")] Interval? RawToUniform,
    [property: JsonPropertyName("verdict")] string Verdict);

/// <summary>
/// A key's sink rate per layer in %: per problem, the share of that layer's heads whose α for the key exceeds the
/// threshold, averaged over problems; raw and value-weighted; with the all-layer rate and its interval.
/// </summary>
public sealed record LayerSinkRates(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("raw_percent")] IReadOnlyList<double> Raw,
    [property: JsonPropertyName("value_weighted_percent")] IReadOnlyList<double> Weighted,
    [property: JsonPropertyName("raw_all_layers")] Interval RawAllLayers,
    [property: JsonPropertyName("value_weighted_all_layers")] Interval WeightedAllLayers);

/// <summary>The sink-or-hub evidence of a run (the <c>sink</c> block of <c>evidence.json</c>).</summary>
public sealed record SinkEvidence(
    [property: JsonPropertyName("definition")] string Definition,
    [property: JsonPropertyName("threshold")] double Threshold,
    [property: JsonPropertyName("keys")] IReadOnlyList<SinkKey> Keys,
    [property: JsonPropertyName("sink_rate_by_layer")] IReadOnlyList<LayerSinkRates> ByLayer,
    [property: JsonPropertyName("hub_argmax_raw")] IReadOnlyList<HubArgmax> HubArgmaxRaw,
    [property: JsonPropertyName("hub_argmax_value_weighted")] IReadOnlyList<HubArgmax> HubArgmaxWeighted);

/// <summary>
/// Sink or hub, measured (Kobayashi et al. 2020's value-norm weighting): a key that draws heavy raw attention but whose
/// values are small carries little to the output (a sink); one that keeps its share after weighting is a hub.
/// Inputs are two latent views of the same run (raw and value-weighted, same layout); no I/O.
/// </summary>
public static class SinkAnalysis
{
    /// <summary>Raw α at least this many times its uniform-causal expectation counts as high.</summary>
    public const double HighRaw = 2.0;

    /// <summary>A key keeping less than this share of its raw α after value weighting is a sink.</summary>
    public const double SinkRetained = 0.5;

    /// <summary>Verdicts.</summary>
    public const string Sink = "sink", Hub = "hub", Neither = "neither";

    /// <summary>How the verdict is reached, as the evidence states it.</summary>
    public const string Definition =
        "raw alpha >= 2x its uniform-causal expectation is high; then value-weighted / raw < 0.5 is a sink, else a hub; "
        + "not high is neither. Sink rate: per problem, % of a layer's heads with alpha > threshold, averaged over problems";

    /// <summary>
    /// One attention row weighted by the value norms of its keys and renormalised: w_p = A_p·n_p / Σ_q A_q·n_q
    /// (all zero when every weighted entry is zero).
    /// </summary>
    public static float[] Weight(IReadOnlyList<float> attention, IReadOnlyList<float> norms)
    {
        if (norms.Count < attention.Count) throw new ArgumentException("fewer value norms than keys", nameof(norms));
        var w = new double[attention.Count];
        double total = 0;
        for (int p = 0; p < w.Length; p++) total += w[p] = (double)attention[p] * norms[p];
        return [.. w.Select(v => total > 0 ? (float)(v / total) : 0f)];
    }

    /// <summary>Builds the evidence from the raw and the value-weighted latent views of the same problems.</summary>
    public static SinkEvidence Build(LatentAnalysis raw, LatentAnalysis weighted, double threshold = LatentReport.SinkThreshold)
    {
        if (raw.N != weighted.N || raw.Layers != weighted.Layers || raw.Heads != weighted.Heads || raw.K != weighted.K)
            throw new ArgumentException("the raw and value-weighted views differ in shape");
        var ok = Enumerable.Range(0, raw.N).Where(n => !raw.Failed(n) && !weighted.Failed(n)).ToArray();
        var keys = KeyColumns(raw.K);
        var verdicts = keys.Select(k => Key(raw, weighted, ok, k.Name, k.Column)).ToList();
        var layers = keys.Take(3).Select(k => Rates(raw, weighted, ok, k.Name, k.Column, threshold)).ToList();
        return new SinkEvidence(Definition, threshold, verdicts, layers, LatentReport.Argmax(raw), LatentReport.Argmax(weighted));
    }

    /// <summary>P0, BOT, z1..zK and their columns in the latent view.</summary>
    public static IReadOnlyList<(string Name, int Column)> KeyColumns(int k) =>
        [("P0", LatentAnalysis.P0), ("BOT", LatentAnalysis.Bot), .. Enumerable.Range(1, k).Select(b => ($"z{b}", LatentAnalysis.Z(b)))];

    /// <summary>The verdict for a key from its ratios (see <see cref="Definition"/>).</summary>
    public static string VerdictOf(double? rawToUniform, double? retained) =>
        rawToUniform is not { } r || !double.IsFinite(r) || r < HighRaw ? Neither
        : retained is { } kept && kept < SinkRetained ? Sink : Hub;

    private static SinkKey Key(LatentAnalysis raw, LatentAnalysis weighted, int[] ok, string name, int column)
    {
        var r = PerProblemAlpha(raw, ok, column);
        var w = PerProblemAlpha(weighted, ok, column);
        var uniform = ok.Select(n => UniformAlpha(raw, n, column)).ToArray();
        var retained = r.Any(v => v > 0) ? Bootstrap.Ratio(w, r) : null;
        var toUniform = uniform.All(u => u > 0) ? Bootstrap.Ratio(r, uniform) : null;
        return new SinkKey(name, Bootstrap.Mean(r), Bootstrap.Mean(w), retained, toUniform, VerdictOf(toUniform?.Value, retained?.Value));
    }

    // Per successful problem, α of the key averaged over every head.
    private static double[] PerProblemAlpha(LatentAnalysis a, int[] ok, int column)
    {
        var profile = a.Profile(column, LatentReport.SinkThreshold);
        return [.. ok.Select(n => profile.MeanOverHeads[n])];
    }

    // α under uniform causal rows: the mean over the latent queries z_a that see the key of 1 / (prompt + a).
    private static double UniformAlpha(LatentAnalysis a, int n, int column)
    {
        var first = column >= LatentAnalysis.Z(1) ? column - 2 : 1;
        return Enumerable.Range(first, a.K - first + 1).Average(q => 1.0 / (a.PromptTokens[n] + q));
    }

    private static LayerSinkRates Rates(LatentAnalysis raw, LatentAnalysis weighted, int[] ok, string name, int column, double threshold)
    {
        var (perLayerRaw, allRaw) = LayerRates(raw, ok, column, threshold);
        var (perLayerWeighted, allWeighted) = LayerRates(weighted, ok, column, threshold);
        return new LayerSinkRates(name, perLayerRaw, perLayerWeighted, Bootstrap.Mean(allRaw), Bootstrap.Mean(allWeighted));
    }

    // Per layer, the % of its heads with α > threshold on each problem, averaged over problems; and per problem, that % over
    // every head of every layer.
    private static (double[] PerLayer, double[] AllLayers) LayerRates(LatentAnalysis a, int[] ok, int column, double threshold)
    {
        var profile = a.Profile(column, threshold);
        var perLayer = new double[a.Layers];
        var all = new double[ok.Length];
        if (ok.Length == 0) Array.Fill(perLayer, double.NaN);
        for (int i = 0; i < ok.Length; i++)
        {
            for (int l = 0; l < a.Layers; l++) perLayer[l] += 100.0 * profile.AboveByLayer[ok[i], l] / a.Heads / ok.Length;
            all[i] = profile.RatePerProblem[ok[i]];
        }
        return (perLayer, all);
    }
}
