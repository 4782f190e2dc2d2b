using System.Text.Json.Nodes;
using CodiLab.Pipeline.Stages;

namespace CodiLab.Pipeline.Analysis;

/// <summary>The latent view's JSON files: <c>latent_stats.json</c> (aggregate) and <c>latent_summary.json</c> (analyze).</summary>
public static class LatentReport
{
    /// <summary>Threshold of the sink rate (share of heads whose α for a key exceeds it).</summary>
    public const double SinkThreshold = 0.3;

    /// <summary>Labelled aggregate: consistency over visible cells, the head-mean matrix, per-head table, top heads.</summary>
    public static JsonObject Stats(ExtractInfo info, LatentAnalysis a, int top)
    {
        var rows = Conventions.LatentRows(a.K);
        var cols = Conventions.LatentColumns(a.K);
        var (meanStd, maxStd, minStd) = a.Consistency();
        var heads = a.HeadTable().ToList();
        var matrix = new JsonObject();
        for (int r = 0; r < a.Rows; r++)
        {
            var row = new JsonObject();
            for (int c = 0; c < a.Columns; c++)
            {
                var v = a.HeadMean(r, c);
                row[cols[c]] = double.IsNaN(v) ? null : v;
            }
            matrix[rows[r]] = row;
        }
        return new JsonObject
        {
            ["model"] = info.Model,
            ["convention"] = "latent",
            ["n_problems"] = info.Problems,
            ["n_layers"] = info.Layers,
            ["n_heads"] = info.Heads,
            ["rows"] = Strings(rows),
            ["columns"] = Strings(cols),
            ["consistency"] = new JsonObject { ["mean_std"] = meanStd, ["max_std"] = maxStd, ["min_std"] = minStd, ["cells"] = "visible cells only", ["consistent"] = meanStd < 0.2 },
            ["head_mean"] = matrix,
            ["top_heads"] = new JsonArray([.. heads.OrderByDescending(h => h["max_latent_attention"]!.GetValue<double>()).Take(top).Select(h => (JsonNode)h.DeepClone())]),
            ["heads"] = new JsonArray([.. heads]),
        };
    }

    /// <summary>Labelled metrics: mass by key group, sequential/self/skip on true indices, visibility-normalised hubs with and without P0, sink rates.</summary>
    public static JsonObject Summary(ExtractInfo info, LatentAnalysis a)
    {
        var k = a.K;
        string Z(int b) => $"z{b}";
        var mass = new JsonObject();
        for (int q = 1; q <= k; q++)
        {
            double earlier = 0;
            for (int b = 1; b < q; b++) earlier += a.HeadMean(q, LatentAnalysis.Z(b));
            mass[Z(q)] = new JsonObject
            {
                ["P0"] = a.HeadMean(q, LatentAnalysis.P0), ["question"] = a.HeadMean(q, LatentAnalysis.Question), ["BOT"] = a.HeadMean(q, LatentAnalysis.Bot),
                ["earlier_latents"] = earlier, ["self"] = a.HeadMean(q, LatentAnalysis.Z(q)),
            };
        }
        var sequential = new JsonObject();
        for (int q = 2; q <= k; q++) sequential[$"{Z(q)}->{Z(q - 1)}"] = a.HeadMean(q, LatentAnalysis.Z(q - 1));
        var self = new JsonObject();
        for (int q = 1; q <= k; q++) self[Z(q)] = a.HeadMean(q, LatentAnalysis.Z(q));
        var skip = new JsonObject();
        for (int d = 2; d < k; d++)
            skip[d.ToString(System.Globalization.CultureInfo.InvariantCulture)] = Enumerable.Range(d + 1, k - d).Average(q => a.HeadMean(q, LatentAnalysis.Z(q - d)));
        var hub = new JsonObject();
        var keys = new List<(string Label, int Column)> { ("P0", LatentAnalysis.P0), ("BOT", LatentAnalysis.Bot) };
        keys.AddRange(Enumerable.Range(1, k).Select(b => (Z(b), LatentAnalysis.Z(b))));
        foreach (var (label, column) in keys)
            hub[label] = new JsonObject
            {
                ["alpha"] = a.Alpha(column),
                ["alpha_without_first_position"] = column == LatentAnalysis.P0 ? null : a.AlphaWithoutFirst(column),
                ["uniform_ratio"] = a.UniformRatio(column, withoutFirst: false),
                ["uniform_ratio_without_first_position"] = column == LatentAnalysis.P0 ? null : a.UniformRatio(column, withoutFirst: true),
            };
        var latentAlphas = Enumerable.Range(1, k).Select(b => a.Alpha(LatentAnalysis.Z(b))).ToList();
        var hubPosition = latentAlphas.IndexOf(latentAlphas.Max()) + 1;
        var withoutZ1 = latentAlphas.Skip(1).ToList();
        var seqValues = sequential.Select(kv => kv.Value!.GetValue<double>()).ToList();
        return new JsonObject
        {
            ["model"] = info.Model,
            ["convention"] = "latent",
            ["n_problems"] = info.Problems,
            ["failed_problems"] = info.Failures,
            ["mass_by_key"] = mass,
            ["bot_row"] = new JsonObject { ["P0"] = a.HeadMean(0, LatentAnalysis.P0), ["question"] = a.HeadMean(0, LatentAnalysis.Question), ["self"] = a.HeadMean(0, LatentAnalysis.Bot) },
            ["sequential"] = sequential,
            ["avg_sequential"] = seqValues.Count > 0 ? seqValues.Average() : null,
            ["self_attention"] = self,
            ["avg_self_attention"] = Enumerable.Range(1, k).Average(q => a.HeadMean(q, LatentAnalysis.Z(q))),
            ["skip_curve"] = skip,
            ["hub"] = hub,
            ["hub_position"] = Z(hubPosition),
            ["hub_position_without_z1"] = withoutZ1.Count > 0 ? Z(withoutZ1.IndexOf(withoutZ1.Max()) + 2) : null,
            ["sink_rate"] = new JsonObject
            {
                ["threshold"] = SinkThreshold,
                ["P0"] = a.SinkRate(LatentAnalysis.P0, SinkThreshold), ["BOT"] = a.SinkRate(LatentAnalysis.Bot, SinkThreshold), ["z1"] = a.SinkRate(LatentAnalysis.Z(1), SinkThreshold),
            },
        };
    }

    private static JsonArray Strings(IEnumerable<string> values) => new([.. values.Select(v => (JsonNode)v)]);
}
