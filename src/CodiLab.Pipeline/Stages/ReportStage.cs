using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CodiLab.Pipeline.Analysis;
using CodiLab.Pipeline.Engine;
using CodiLab.Specs;
using Markdig;

namespace CodiLab.Pipeline.Stages;

/// <summary>
/// Phase 1 report (seed scripts 3–5's report, regenerated from the artifacts): <c>report.md</c> and
/// <c>report.html</c> (images embedded). Tables for hub, sequential flow, skip connections, top heads and
/// consistency in the seed convention, the same questions answered in the latent view, the spec, the checkpoint
/// hash and every stage's cache key, and what the seed's indices really meant.
/// </summary>
public static partial class ReportStage
{
    /// <summary>Markdown report.</summary>
    public const string Markdown = "report.md";

    /// <summary>HTML copy with embedded figures.</summary>
    public const string Html = "report.html";

    private static readonly string[] Inputs = ["sample", "extract", "aggregate", "analyze", "figures"];

    /// <summary>The stage for a spec.</summary>
    public static Stage For(ExperimentSpec spec) => new(
        Name: "report", Phase: "Phase1", Version: 1,
        Reads: [.. SpecSchema.Fields.Select(f => f.Path)], // the report prints the whole resolved spec
        Upstream: spec.Text("model.source") == "generated" ? [.. Inputs, "model"] : Inputs,
        Outputs: [Markdown, Html],
        Externals: ModelStage.Resolve,
        Execute: Run);

    private static string F(double v, string format = "0.0000") => double.IsNaN(v) ? "–" : v.ToString(format, CultureInfo.InvariantCulture);

    private static double D(JsonNode? n) => n?.GetValue<double>() ?? double.NaN;

    private static JsonNode Json(StageContext ctx, string stage, string file) => JsonNode.Parse(File.ReadAllText(ctx.Input(stage, file)))!;

    private static void Run(StageContext ctx)
    {
        var s = ctx.Spec;
        var info = ExtractInfo.Read(ctx.Input("extract", ExtractStage.Metadata));
        var seed = Json(ctx, "analyze", Phase1Stages.SeedSummary);
        var stats = Json(ctx, "aggregate", Phase1Stages.SeedStats);
        var latent = Json(ctx, "analyze", Phase1Stages.LatentSummary);
        var latentStats = Json(ctx, "aggregate", Phase1Stages.LatentStats);
        var primary = s.Text("extraction.matrix");
        var md = new StringBuilder();
        void Line(string text = "") => md.Append(text).Append('\n');

        Line($"# Phase 1 report — {s.Name}");
        Line();
        if (!string.IsNullOrWhiteSpace(s.Text("description"))) Line($"{s.Text("description")}");
        Line();
        Line($"Every number below is read from this run's artifacts. Primary convention (`extraction.matrix`): **{primary}**; both are shown.");
        Line();
        Line("## Run");
        Line();
        Line("| item | value |");
        Line("|---|---|");
        var checkpoint = s.Text("model.source") == "generated"
            ? $"generated from seed {s.Seed}; model.safetensors sha256 `{Hashing.File(ctx.Input("model", "model/model.safetensors")).Sha256}`"
            : $"`{s.Text("model.path")}`; folder hash `{ctx.Externals["model"].Hash}`";
        Line($"| spec | `{s.Reference}` |");
        Line($"| model | {s.Text("model.arch")}, {info.Layers} layers × {info.Heads} heads, {info.Latents} latents, {s.Text("model.dtype")} on {ExtractStage.Device(s)} |");
        Line($"| checkpoint | {checkpoint} |");
        Line($"| dataset | {s.Text("dataset.source")} {s.Text("dataset.split")}, sample {ExperimentSpec.Canonical(s.Fields["dataset.sample"])} with seed {s.Seed}: {info.Problems} problems ({info.Failures} failed); dataset.json sha256 `{Hashing.File(ctx.Input("sample", SampleStage.Output)).Sha256}` |");
        Line(info.Accuracy is { } acc
            ? $"| accuracy | {acc.Correct}/{acc.Total} ({100.0 * acc.Correct / Math.Max(1, acc.Total):0.0}%), greedy answers of up to {s.Int("extraction.max_new_tokens")} tokens, last number compared with the gold answer |"
            : "| accuracy | not measured (`extraction.max_new_tokens: 0`, as the seed) |");
        Line($"| thresholds | hub ratio {F(s.Number("analysis.hub_ratio_threshold"), "0.##")}, sequential {F(s.Number("analysis.sequential_threshold"), "0.##")}, skip {F(s.Number("analysis.skip_threshold"), "0.##")} |");
        Line($"| harness | CodiLab {ctx.Environment.HarnessVersion} |");
        foreach (var (stage, dir) in ctx.UpstreamDirectories.OrderBy(kv => Array.IndexOf(Inputs, kv.Key)))
            Line($"| cache key: {stage} | `{Path.GetFileName(dir)}` |");
        Line();

        Line("## Seed convention (reproduces the seed report, off-by-one included)");
        Line();
        Line("### Hub analysis");
        Line();
        Line("| seed position | really (key) | avg incoming attention |");
        Line("|---|---|---|");
        var hub = seed["hub_analysis"]!;
        var hubScores = hub["all_hub_scores"]!.AsArray();
        for (int p = 0; p < hubScores.Count; p++) Line($"| {p} | {Conventions.SeedColumnsReally[p]} | {F(D(hubScores[p]))} |");
        Line();
        Line($"Hub position **{hub["hub_position"]}** (really {Conventions.SeedColumnsReally[hub["hub_position"]!.GetValue<int>()]}), score {F(D(hub["hub_score"]))}, ratio to 1/6 = {F(D(hub["hub_ratio"]), "0.00")}×, strong hub: **{hub["is_strong_hub"]}**.");
        Line();
        Line("### Sequential flow");
        Line();
        Line("| seed cell | really | attention |");
        Line("|---|---|---|");
        var flow = seed["sequential_flow"]!;
        var seqScores = flow["sequential_scores"]!.AsArray();
        for (int i = 0; i < seqScores.Count; i++) Line($"| [{i + 1}, {i}] | z{i + 1} → z{i + 1} (self) | {F(D(seqScores[i]))} |");
        Line();
        Line($"Average {F(D(flow["avg_sequential_attention"]))}; sequential flow: **{flow["has_sequential_flow"]}**; [5, 4] = {F(D(flow["position_5_to_4"]))} (really z5 self).");
        Line();
        Line("### Skip connections");
        Line();
        Line("| seed cell | really | attention |");
        Line("|---|---|---|");
        var skip = seed["skip_connections"]!;
        var skipScores = skip["skip_scores"]!.AsArray();
        for (int t = 0; t < skipScores.Count; t++) Line($"| [5, {t}] | z5 → z{t + 1} | {F(D(skipScores[t]))} |");
        Line();
        Line($"Average {F(D(skip["avg_skip_attention"]))}; skip connections: **{skip["has_skip_connections"]}**.");
        Line();
        Line("### Top heads (by max of the 6×6 mean)");
        Line();
        Line("| rank | head | max | mean | std |");
        Line("|---|---|---|---|---|");
        var top = stats.AsObject().First(kv => kv.Key.StartsWith("top_", StringComparison.Ordinal)).Value!.AsArray();
        for (int r = 0; r < top.Count; r++)
            Line($"| {r + 1} | L{top[r]!["layer"]}H{top[r]!["head"]} | {F(D(top[r]!["max_attention"]), "0.000")} | {F(D(top[r]!["mean_attention"]), "0.000")} | {F(D(top[r]!["std_attention"]), "0.000")} |");
        Line();
        var consistency = stats["consistency"]!;
        Line($"### Consistency");
        Line();
        Line($"Mean std over problems {F(D(consistency["mean_std"]))} (max {F(D(consistency["max_std"]))}, min {F(D(consistency["min_std"]))}); consistent (< 0.2): **{consistency["consistent"]}**. The seed's 21 structurally-zero cells per head (std 0) pull this down.");
        Line();
        Line("![seed top heads](figures/seed/1_top_heads_attention.png)");
        Line();
        Line("![seed by layer](figures/seed/2_attention_by_layer.png)");
        Line();
        Line("![seed hub flow skip](figures/seed/3_hub_analysis.png)");
        Line();

        Line("## Latent view (labelled: BOT, z1..z6 as queries; P0, question, BOT, z1..z6 as keys)");
        Line();
        Line("### Where each latent's attention goes (head mean)");
        Line();
        Line("| query | P0 | question | BOT | earlier latents | self |");
        Line("|---|---|---|---|---|---|");
        foreach (var (q, m) in latent["mass_by_key"]!.AsObject())
            Line($"| {q} | {F(D(m!["P0"]))} | {F(D(m["question"]))} | {F(D(m["BOT"]))} | {F(D(m["earlier_latents"]))} | {F(D(m["self"]))} |");
        Line();
        Line("### Hub scores normalised by causal visibility");
        Line();
        Line("| key | α (mean over queries that see it) | α without P0 (rows renormalised) | × uniform causal row | × uniform, without P0 |");
        Line("|---|---|---|---|---|");
        foreach (var (key, h) in latent["hub"]!.AsObject())
            Line($"| {key} | {F(D(h!["alpha"]))} | {F(D(h["alpha_without_first_position"]))} | {F(D(h["uniform_ratio"]), "0.00")} | {F(D(h["uniform_ratio_without_first_position"]), "0.00")} |");
        Line();
        var sink = latent["sink_rate"]!;
        Line($"Hub among latents: **{latent["hub_position"]}** ({latent["hub_position_without_z1"]} without z1). Sink rate (share of heads with α > {F(D(sink["threshold"]), "0.0")}): P0 {F(D(sink["P0"]), "0.00")}, BOT {F(D(sink["BOT"]), "0.00")}, z1 {F(D(sink["z1"]), "0.00")}.");
        Line();
        Line("### Flow on true indices");
        Line();
        Line("| edge | attention |");
        Line("|---|---|");
        foreach (var (edge, v) in latent["sequential"]!.AsObject()) Line($"| {edge} | {F(D(v))} |");
        foreach (var (d, v) in latent["skip_curve"]!.AsObject()) Line($"| skip d={d} (z_a → z_(a−{d})) | {F(D(v))} |");
        Line();
        Line($"Average sequential {F(D(latent["avg_sequential"]))}; average self-attention {F(D(latent["avg_self_attention"]))}. Consistency over visible cells: mean std {F(D(latentStats["consistency"]!["mean_std"]))}.");
        Line();
        Line("![latent top heads](figures/latent/1_top_heads_attention.png)");
        Line();
        Line("![latent by layer](figures/latent/2_attention_by_layer.png)");
        Line();
        Line("![latent hub flow skip](figures/latent/3_hub_analysis.png)");
        Line();

        Line("## What the seed's indices meant");
        Line();
        Line("The seed filled M[s, j] from key Q+1+j of the token fed at step s, believing it sat at Q+1+s. Side by side, from this run:");
        Line();
        Line("| the seed says | it actually is | seed value | latent-view value |");
        Line("|---|---|---|---|");
        Line($"| row 0 (\"CT0\") | the BOT query, never filled | 0 | BOT row: P0 {F(D(latent["bot_row"]!["P0"]))}, question {F(D(latent["bot_row"]!["question"]))}, self {F(D(latent["bot_row"]!["self"]))} |");
        Line($"| \"hub\" column 0 | key z1 (BOT is never a column) | {F(D(hubScores[0]))} | α(z1) {F(D(latent["hub"]!["z1"]!["alpha"]))}; α(BOT) {F(D(latent["hub"]!["BOT"]!["alpha"]))} |");
        for (int i = 1; i <= 5 && i <= seqScores.Count; i++)
            Line($"| \"sequential\" [{i}, {i - 1}] | z{i} self-attention | {F(D(seqScores[i - 1]))} | self z{i} {F(D(latent["self_attention"]![$"z{i}"]))}; true z{i}→z{i - 1} {(i > 1 ? F(D(latent["sequential"]![$"z{i}->z{i - 1}"])) : "–")} |");
        Line($"| column 5 | key z6, which the seed never fed | {F(D(hubScores[5]))} | z6 self {F(D(latent["self_attention"]!["z6"]))} |");
        Line($"| question, BOS / first token, BOT as keys | never recorded | – | z-rows' mass to P0 + question + BOT: {F(Enumerable.Range(1, info.Latents).Average(q => D(latent["mass_by_key"]![$"z{q}"]!["P0"]) + D(latent["mass_by_key"]![$"z{q}"]!["question"]) + D(latent["mass_by_key"]![$"z{q}"]!["BOT"])))} |");
        Line();
        Line($"Figures use the font {Figures.FigureKit.FontName}; each figure has one colour range (seed by-layer: 0–0.3 as the seed; others 0–1).");
        Line();
        Line("## The spec, resolved");
        Line();
        Line("| field | value | from |");
        Line("|---|---|---|");
        foreach (var def in SpecSchema.Fields)
            Line($"| `{def.Path}` | {ExperimentSpec.Canonical(s.Fields[def.Path]).Replace("|", "\\|", StringComparison.Ordinal)} | {(s.IsWritten(def.Path) ? s.MarkOf(def.Path).ToString() : "default")} |");

        var markdown = md.ToString();
        File.WriteAllText(ctx.Output(Markdown), markdown);
        var body = Markdig.Markdown.ToHtml(markdown, new MarkdownPipelineBuilder().UseAdvancedExtensions().Build());
        body = ImagePattern().Replace(body, m =>
        {
            var path = ctx.Input("figures", m.Groups[1].Value);
            return $"src=\"data:image/png;base64,{Convert.ToBase64String(File.ReadAllBytes(path))}\"";
        });
        File.WriteAllText(ctx.Output(Html), $"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Phase 1 — {System.Net.WebUtility.HtmlEncode(s.Name)}</title>" +
            "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}img{max-width:100%}</style></head><body>\n" + body + "</body></html>\n");
    }

    [GeneratedRegex("src=\"(figures/[^\"]+)\"")]
    private static partial Regex ImagePattern();
}
