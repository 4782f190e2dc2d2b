using System.Text;
using CodiLab.Analysis;
using static CodiLab.Reports.ReportFormat;

namespace CodiLab.Reports;

/// <summary>The run facts the Phase 1 report prints besides the artifacts (all resolved by the stage adapter).</summary>
/// <param name="Name">The experiment.</param>
/// <param name="Description">The spec's description.</param>
/// <param name="Reference">How the spec was named.</param>
/// <param name="Primary">extraction.matrix.</param>
/// <param name="ModelLine">
/// Architecture and dtype with <c>{shape}</c> and <c>{device}</c> holes, filled from the extraction's metadata.
/// </param>
/// <param name="Checkpoint">Where the weights came from, with their hash.</param>
/// <param name="DatasetLine">Source, split, sample and seed.</param>
/// <param name="DatasetSha256">SHA-256 of dataset.json.</param>
/// <param name="MaxNewTokens">extraction.max_new_tokens.</param>
/// <param name="Analysis">The thresholds.</param>
/// <param name="Harness">The harness version.</param>
/// <param name="CacheKeys">Each upstream stage and its cache key, in pipeline order.</param>
/// <param name="Spec">Every spec field resolved.</param>
public sealed record Phase1RunFacts(
    string Name, string Description, string Reference, string Primary, string ModelLine, string Checkpoint, string DatasetLine,
    string DatasetSha256, int MaxNewTokens, CodiLab.Specs.AnalysisSection Analysis, string Harness,
    IReadOnlyList<(string Stage, string Key)> CacheKeys,
    IReadOnlyList<CodiLab.Specs.ResolvedField> Spec);

/// <summary>The typed artifacts the Phase 1 report reads.</summary>
public sealed record Phase1ReportInput(
    Phase1RunFacts Run, ExtractMetadata Info, SeedSummary Seed, SeedStats Stats, LatentSummary Latent, LatentStats LatentStats);

/// <summary>
/// Phase 1 report (seed scripts 3–5's report, regenerated from the artifacts): tables for hub, sequential flow, skip
/// connections, top heads and consistency in the seed convention, the same questions answered in the latent view,
/// the spec, the checkpoint hash and every stage's cache key, and what the seed's indices really meant.
/// </summary>
public static class Phase1Report
{
    /// <summary>Markdown report.</summary>
    public const string Markdown = "report.md";

    /// <summary>HTML copy with embedded figures.</summary>
    public const string Html = "report.html";

    /// <summary>The report as Markdown.</summary>
    public static string Render(Phase1ReportInput input)
    {
        var md = new StringBuilder();
        void Line(string text = "") => md.Append(text).Append('\n');
        RunSection(input, Line);
        SeedSection(input, Line);
        LatentSection(input, Line);
        IndexSection(input, Line);
        Line("## The spec, resolved");
        Line();
        Line("| field | value | from |");
        Line("|---|---|---|");
        foreach (var f in input.Run.Spec) Line($"| `{f.Path}` | {f.Value.Replace("|", "\\|", StringComparison.Ordinal)} | {f.Origin} |");
        return md.ToString();
    }

    /// <summary>The HTML copy, with figures read through <paramref name="figure"/>.</summary>
    public static string RenderHtml(string markdown, string name, Func<string, byte[]> figure) =>
        ReportFormat.Html(markdown, "Phase 1 — ", name, figure);

    private static void RunSection(Phase1ReportInput input, Action<string> line)
    {
        void Line(string text = "") => line(text);
        var (r, info) = (input.Run, input.Info);
        Line($"# Phase 1 report — {r.Name}");
        Line();
        if (!string.IsNullOrWhiteSpace(r.Description)) Line($"{r.Description}");
        Line();
        Line("Every number below is read from this run's artifacts. "
            + $"Primary convention (`extraction.matrix`): **{r.Primary}**; both are shown.");
        Line();
        Line("## Run");
        Line();
        Line("| item | value |");
        Line("|---|---|");
        Line($"| spec | `{r.Reference}` |");
        var shape = $"{info.Layers} layers × {info.Heads} heads, {info.Latents} latents";
        var model = r.ModelLine.Replace("{shape}", shape, StringComparison.Ordinal).Replace("{device}", info.Device, StringComparison.Ordinal);
        Line($"| model | {model} |");
        Line($"| checkpoint | {r.Checkpoint} |");
        Line($"| dataset | {r.DatasetLine}: {info.Problems} problems ({info.Failures} failed); dataset.json sha256 `{r.DatasetSha256}` |");
        Line(info.Accuracy is { } acc
            ? $"| accuracy | {acc.Correct}/{acc.Total} ({100.0 * acc.Correct / Math.Max(1, acc.Total):0.0}%), "
              + $"greedy answers of up to {r.MaxNewTokens} tokens, "
              + "last number compared with the gold answer |"
            : "| accuracy | not measured (`extraction.max_new_tokens: 0`, as the seed) |");
        var a = r.Analysis;
        Line($"| thresholds | hub ratio {F(a.HubRatioThreshold, "0.##")}, sequential {F(a.SequentialThreshold, "0.##")}, "
            + $"skip {F(a.SkipThreshold, "0.##")} |");
        Line($"| harness | CodiLab {r.Harness} |");
        foreach (var (stage, key) in r.CacheKeys) Line($"| cache key: {stage} | `{key}` |");
        Line();
    }

    private static void SeedSection(Phase1ReportInput input, Action<string> line)
    {
        void Line(string text = "") => line(text);
        var (seed, stats) = (input.Seed, input.Stats);
        Line("## Seed convention (reproduces the seed report, off-by-one included)");
        Line();
        Line("### Hub analysis");
        Line();
        Line("| seed position | really (key) | avg incoming attention |");
        Line("|---|---|---|");
        var hub = seed.Hub;
        for (int p = 0; p < hub.AllHubScores.Count; p++) Line($"| {p} | {Conventions.SeedColumnsReally[p]} | {F(hub.AllHubScores[p])} |");
        Line();
        Line($"Hub position **{hub.HubPosition}** (really {Conventions.SeedColumnsReally[hub.HubPosition]}), score {F(hub.HubScore)}, "
            + $"ratio to 1/6 = {F(hub.HubRatio, "0.00")}×, strong hub: **{B(hub.IsStrongHub)}**.");
        Line();
        Line("### Sequential flow");
        Line();
        Line("| seed cell | really | attention |");
        Line("|---|---|---|");
        var flow = seed.Sequential;
        for (int i = 0; i < flow.Scores.Count; i++) Line($"| [{i + 1}, {i}] | z{i + 1} → z{i + 1} (self) | {F(flow.Scores[i])} |");
        Line();
        Line($"Average {F(flow.AvgSequential)}; sequential flow: **{B(flow.HasSequentialFlow)}**; "
            + $"[5, 4] = {F(flow.Position5To4)} (really z5 self).");
        Line();
        Line("### Skip connections");
        Line();
        Line("| seed cell | really | attention |");
        Line("|---|---|---|");
        var skip = seed.Skip;
        for (int t = 0; t < skip.Scores.Count; t++) Line($"| [5, {t}] | z5 → z{t + 1} | {F(skip.Scores[t])} |");
        Line();
        Line($"Average {F(skip.AvgSkip)}; skip connections: **{B(skip.HasSkipConnections)}**.");
        Line();
        Line("### Top heads (by max of the 6×6 mean)");
        Line();
        Line("| rank | head | max | mean | std |");
        Line("|---|---|---|---|---|");
        for (int r = 0; r < stats.TopHeads.Count; r++)
        {
            var h = stats.TopHeads[r];
            Line($"| {r + 1} | L{h.Layer}H{h.Head} | {F(AsWritten(h.MaxAttention), "0.000")} | {F(AsWritten(h.MeanAttention), "0.000")} "
                + $"| {F(AsWritten(h.StdAttention), "0.000")} |");
        }
        Line();
        var c = stats.Consistency;
        Line($"### Consistency");
        Line();
        Line($"Mean std over problems {F(AsWritten(c.MeanStd))} (max {F(AsWritten(c.MaxStd))}, min {F(AsWritten(c.MinStd))}); "
            + $"consistent (< 0.2): **{B(c.Consistent)}**. "
            + "The seed's 21 structurally-zero cells per head (std 0) pull this down.");
        Line();
        Figures(line, "seed", "seed");
    }

    private static void Figures(Action<string> line, string folder, string alt)
    {
        var figures = new[]
        {
            ("1_top_heads_attention.png", "top heads"), ("2_attention_by_layer.png", "by layer"), ("3_hub_analysis.png", "hub flow skip"),
        };
        foreach (var (file, what) in figures)
        {
            line($"![{alt} {what}](figures/{folder}/{file})");
            line("");
        }
    }

    private static void LatentSection(Phase1ReportInput input, Action<string> line)
    {
        void Line(string text = "") => line(text);
        var latent = input.Latent;
        Line("## Latent view (labelled: BOT, z1..z6 as queries; P0, question, BOT, z1..z6 as keys)");
        Line();
        Line("### Where each latent's attention goes (head mean)");
        Line();
        Line("| query | P0 | question | BOT | earlier latents | self |");
        Line("|---|---|---|---|---|---|");
        foreach (var (q, m) in latent.MassByKey)
            Line($"| {q} | {F(m.P0)} | {F(m.Question)} | {F(m.Bot)} | {F(m.EarlierLatents)} | {F(m.Self)} |");
        Line();
        Line("### Hub scores normalised by causal visibility");
        Line();
        Line("| key | α (mean over queries that see it) | α without P0 (rows renormalised) "
            + "| × uniform causal row | × uniform, without P0 |");
        Line("|---|---|---|---|---|");
        foreach (var (key, h) in latent.Hub)
            Line($"| {key} | {F(h.Alpha)} | {F(h.AlphaWithoutFirstPosition)} | {F(h.UniformRatio, "0.00")} "
                + $"| {F(h.UniformRatioWithoutFirstPosition, "0.00")} |");
        Line();
        var sink = latent.SinkRate;
        Line($"Hub among latents: **{latent.HubPosition}** ({latent.HubPositionWithoutZ1} without z1). "
            + $"Sink rate (share of heads with α > {F(sink.Threshold, "0.0")}): "
            + $"P0 {F(sink.P0, "0.00")}, BOT {F(sink.Bot, "0.00")}, z1 {F(sink.Z1, "0.00")}.");
        Line();
        Line("### Flow on true indices");
        Line();
        Line("| edge | attention |");
        Line("|---|---|");
        foreach (var (edge, v) in latent.Sequential) Line($"| {edge} | {F(v)} |");
        foreach (var (d, v) in latent.SkipCurve) Line($"| skip d={d} (z_a → z_(a−{d})) | {F(v)} |");
        Line();
        Line($"Average sequential {F(latent.AvgSequential)}; average self-attention {F(latent.AvgSelfAttention)}. "
            + $"Consistency over visible cells: mean std {F(input.LatentStats.Consistency.MeanStd)}.");
        Line();
        Figures(line, "latent", "latent");
    }

    private static void IndexSection(Phase1ReportInput input, Action<string> line)
    {
        void Line(string text = "") => line(text);
        var (latent, hubScores, seqScores) = (input.Latent, input.Seed.Hub.AllHubScores, input.Seed.Sequential.Scores);
        Line("## What the seed's indices meant");
        Line();
        Line("The seed filled M[s, j] from key Q+1+j of the token fed at step s, believing it sat at Q+1+s. Side by side, from this run:");
        Line();
        Line("| the seed says | it actually is | seed value | latent-view value |");
        Line("|---|---|---|---|");
        var bot = latent.BotRow;
        Line($"| row 0 (\"CT0\") | the BOT query, never filled | 0 "
            + $"| BOT row: P0 {F(bot.P0)}, question {F(bot.Question)}, self {F(bot.Self)} |");
        Line($"| \"hub\" column 0 | key z1 (BOT is never a column) | {F(hubScores[0])} "
            + $"| α(z1) {F(latent.Hub["z1"].Alpha)}; α(BOT) {F(latent.Hub["BOT"].Alpha)} |");
        for (int i = 1; i <= 5 && i <= seqScores.Count; i++)
        {
            var truth = i > 1 ? F(latent.Sequential.GetValueOrDefault($"z{i}->z{i - 1}", double.NaN)) : "–";
            var zSelf = F(latent.SelfAttention.GetValueOrDefault($"z{i}", double.NaN));
            Line($"| \"sequential\" [{i}, {i - 1}] | z{i} self-attention | {F(seqScores[i - 1])} "
                + $"| self z{i} {zSelf}; true z{i}→z{i - 1} {truth} |");
        }
        var z6Self = F(latent.SelfAttention.GetValueOrDefault("z6", double.NaN));
        Line($"| column 5 | key z6, which the seed never fed | {F(hubScores[5])} | z6 self {z6Self} |");
        var outside = Enumerable.Range(1, input.Info.Latents)
            .Average(q => latent.MassByKey[$"z{q}"] is var m ? m.P0 + m.Question + m.Bot : 0);
        Line($"| question, BOS / first token, BOT as keys | never recorded | – | z-rows' mass to P0 + question + BOT: {F(outside)} |");
        Line();
        Line($"Figures use the font {FigureKit.FontName}; "
            + "each figure has one colour range (seed by-layer: 0–0.3 as the seed; others 0–1).");
        Line();
    }
}
