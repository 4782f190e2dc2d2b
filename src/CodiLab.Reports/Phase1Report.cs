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
/// <param name="Arch">The architecture's word (llama, gpt2): what P0 is.</param>
/// <param name="SeedExperiment">Whether the spec is one of the seed's experiments (its published numbers are then compared).</param>
public sealed record Phase1RunFacts(
    string Name, string Description, string Reference, string Primary, string ModelLine, string Checkpoint, string DatasetLine,
    string DatasetSha256, int MaxNewTokens, CodiLab.Specs.AnalysisSection Analysis, string Harness,
    IReadOnlyList<(string Stage, string Key)> CacheKeys,
    IReadOnlyList<CodiLab.Specs.ResolvedField> Spec, string Arch = "llama", bool SeedExperiment = false);

/// <summary>The typed artifacts the Phase 1 report reads (the question-token and logit-lens parts when the run has them).</summary>
public sealed record Phase1ReportInput(
    Phase1RunFacts Run, ExtractMetadata Info, SeedSummary Seed, SeedStats Stats, LatentSummary Latent, LatentStats LatentStats,
    Phase1Evidence Evidence, QuestionKindSummary? QuestionKinds = null, LogitLensSummary? LogitLens = null, LensRecords? LensRecords = null);

/// <summary>
/// Phase 1 report (seed scripts 3–5's report, regenerated from the artifacts): tables for hub, sequential flow, skip
/// connections, top heads and consistency in the seed convention, the same questions answered in the latent view,
/// the spec, the checkpoint hash and every stage's cache key, and what the seed's indices really meant.
/// </summary>
public static partial class Phase1Report
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
        Glossary(input, Line);
        Changes(Line);
        ClaimsSection(input, Line);
        ParitySection(input, Line);
        if (input.Run.Primary == "latent")
        {
            LatentSection(input, Line);
            SeedSection(input, Line);
        }
        else
        {
            SeedSection(input, Line);
            LatentSection(input, Line);
        }
        QuestionTokensSection(input, Line);
        LogitLensSection(input, Line);
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
            + $"Leading convention (`extraction.matrix`): **{r.Primary}**, shown first; both are shown.");
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
        var boot = input.Evidence.Bootstrap;
        Line($"| intervals | {boot.Method}: {boot.Resamples} resamples ({boot.RankResamples} for head ranks), seed {boot.Seed}, "
            + $"over the {boot.Problems} successful problems |");
        Line($"| harness | CodiLab {r.Harness} |");
        foreach (var (stage, key) in r.CacheKeys) Line($"| cache key: {stage} | `{key}` |");
        Line();
    }

    private static void SeedSection(Phase1ReportInput input, Action<string> line)
    {
        void Line(string text = "") => line(text);
        var (seed, stats, ev) = (input.Seed, input.Stats, input.Evidence.Seed);
        Line("## Seed convention (reproduces the seed report, off-by-one included)");
        Line();
        Line("Each seed score is shown as the seed computed it (fp16-rounded mean over all problems), then recomputed per "
            + "successful problem with its 95% interval, beside the **uniform-causal expectation** (every query spreading "
            + "its attention evenly over the keys it can see, from each problem's real prompt length) and the ratio to it. "
            + "Cells marked *structural* cannot be non-zero in the seed's layout.");
        Line();
        Line("### Hub analysis");
        Line();
        Line("| seed position | really (key) | avg incoming attention | " + ScoredHeader);
        Line("|---|---|---|" + ScoredRule);
        var hub = seed.Hub;
        for (int p = 0; p < hub.AllHubScores.Count; p++)
            Line($"| {p} | {Conventions.SeedColumnsReally[p]} | {F(hub.AllHubScores[p])} | {ScoredCells(ev.Hub[p])}");
        Line();
        Line($"Hub position **{hub.HubPosition}** (really {Conventions.SeedColumnsReally[hub.HubPosition]}), score {F(hub.HubScore)}, "
            + $"ratio to 1/6 = {F(hub.HubRatio, "0.00")}× (per problem: {CI(ev.HubRatioToOneSixth, "0.00")}), "
            + $"strong hub: **{B(hub.IsStrongHub)}**. "
            + $"The same position is the argmax in {F(100 * ev.HubPositionStability, "0")}% of resamples.");
        Line();
        Line($"Against the uniform-causal expectation: **{ev.HubVerdict}**. (1/6 is no baseline: column p has 5 − p live cells "
            + "and each holds about 1/T of a row over T ≈ prompt length keys.)");
        Line();
        Line("### Sequential flow");
        Line();
        Line("| seed cell | really | attention | " + ScoredHeader);
        Line("|---|---|---|" + ScoredRule);
        var flow = seed.Sequential;
        for (int i = 0; i < flow.Scores.Count; i++)
            Line($"| [{i + 1}, {i}] | z{i + 1} → z{i + 1} (self) | {F(flow.Scores[i])} | {ScoredCells(ev.Sequential[i])}");
        Line();
        Line($"Average {F(flow.AvgSequential)} (per problem: {CI(ev.AvgSequential.Measured)}; uniform {F(ev.AvgSequential.Uniform)}, "
            + $"{ev.AvgSequential.Verdict}); sequential flow: **{B(flow.HasSequentialFlow)}**; "
            + $"[5, 4] = {F(flow.Position5To4)} (really z5 self). "
            + "The 0.3 threshold is applied to self-attention cells, so the flag says nothing about flow.");
        Line();
        Line("### Skip connections");
        Line();
        Line("| seed cell | really | attention | " + ScoredHeader);
        Line("|---|---|---|" + ScoredRule);
        var skip = seed.Skip;
        for (int t = 0; t < skip.Scores.Count; t++) Line($"| [5, {t}] | z5 → z{t + 1} | {F(skip.Scores[t])} | {ScoredCells(ev.Skip[t])}");
        Line();
        Line($"Average {F(skip.AvgSkip)} (per problem: {CI(ev.AvgSkip.Measured)}; uniform {F(ev.AvgSkip.Uniform)}, {ev.AvgSkip.Verdict}); "
            + $"skip connections: **{B(skip.HasSkipConnections)}**.");
        Line();
        SeedTopHeads(input, line);
        var c = stats.Consistency;
        Line($"### Consistency");
        Line();
        Line($"Mean SD across problems {F(AsWritten(c.MeanStd))} (max {F(AsWritten(c.MaxStd))}, min {F(AsWritten(c.MinStd))}); "
            + $"the seed's flag \"consistent (< 0.2)\" is {B(c.Consistent)}, which is not a finding: the seed's 21 structural-zero "
            + "cells per head (SD 0) pull the mean down. No interval: it describes spread, it is not an estimate.");
        Line();
        Figures(line, "seed", "seed");
    }

    private static void SeedTopHeads(Phase1ReportInput input, Action<string> line)
    {
        void Line(string text = "") => line(text);
        var (stats, ev) = (input.Stats, input.Evidence.Seed);
        Line($"### Top {stats.TopHeads.Count} heads (by max of the 6×6 mean)");
        Line();
        Line("SD = standard deviation across problems (mean over the 36 cells); intervals are 95% bootstrap intervals over "
            + "problems. The argmax cell is the seed's \"Max Position\".");
        Line();
        Line("| rank | head | max | mean | SD | argmax cell | really | max [95% CI] | rank [95% CI] |");
        Line("|---|---|---|---|---|---|---|---|---|");
        var byHead = ev.TopHeads.ToDictionary(h => (h.Layer, h.Head));
        for (int r = 0; r < stats.TopHeads.Count; r++)
        {
            var h = stats.TopHeads[r];
            var e = byHead.GetValueOrDefault((h.Layer, h.Head));
            Line($"| {r + 1} | L{h.Layer}H{h.Head} | {F(AsWritten(h.MaxAttention), "0.000")} | {F(AsWritten(h.MeanAttention), "0.000")} "
                + $"| {F(AsWritten(h.StdAttention), "0.000")} | {e?.ArgmaxCell ?? "–"} | {e?.Really ?? "–"} "
                + $"| {(e is null ? "–" : CI(e.Max, "0.000"))} | {(e is null ? "–" : Rank(e.Rank))} |");
        }
        Line();
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
        var (latent, ev) = (input.Latent, input.Evidence.Latent);
        Line("## Latent view (labelled: BOT, z1..z6 as queries; P0, question, BOT, z1..z6 as keys)");
        Line();
        Line("### Where each latent's attention goes (head mean)");
        Line();
        Line("| query | P0 | question | BOT | earlier latents | self | question per token [95% CI] |");
        Line("|---|---|---|---|---|---|---|");
        foreach (var (q, m) in latent.MassByKey)
            Line($"| {q} | {F(m.P0)} | {F(m.Question)} | {F(m.Bot)} | {F(m.EarlierLatents)} | {F(m.Self)} "
                + $"| {(ev.QuestionPerToken.TryGetValue(q, out var t) ? CI(t, "0.00000") : "–")} |");
        Line();
        Line("The head-mean shares above are the aggregate (no interval); below, each share per successful problem with its "
            + "interval, against uniform causal rows (1/T per visible key; the question holds prompt − 2 of them). "
            + "Question per token = the question share divided by the number of question tokens, per problem.");
        Line();
        Line("| query | key | " + ScoredHeader);
        Line("|---|---|" + ScoredRule);
        foreach (var (q, scores) in ev.Mass)
            foreach (var sc in scores) Line($"| {q} | {sc.Metric} | {ScoredCells(sc)}");
        Line();
        LatentHubs(input, line);
        Line("### Flow on true indices");
        Line();
        Line("| edge | attention | " + ScoredHeader);
        Line("|---|---|" + ScoredRule);
        var seqEv = ev.Sequential.ToDictionary(e => e.Metric);
        foreach (var (edge, v) in latent.Sequential)
            Line($"| {edge} | {F(v)} | {(seqEv.TryGetValue(edge, out var e) ? ScoredCells(e) : ScoredEmpty)}");
        var skipEv = ev.Skip.ToDictionary(e => e.Metric);
        foreach (var (d, v) in latent.SkipCurve)
            Line($"| skip d={d} (z_a → z_(a−{d})) | {F(v)} "
                + $"| {(skipEv.TryGetValue($"d={d}", out var e) ? ScoredCells(e) : ScoredEmpty)}");
        foreach (var e in ev.Self)
            Line($"| self {e.Metric} | {F(latent.SelfAttention.GetValueOrDefault(e.Metric, double.NaN))} | {ScoredCells(e)}");
        Line();
        var avgEv = ev.AvgSequential is { } avg ? $" (per problem: {CI(avg.Measured)}, {avg.Verdict})" : "";
        Line($"Average sequential {F(latent.AvgSequential)}{avgEv}; "
            + $"average self-attention {F(latent.AvgSelfAttention)}. "
            + $"Consistency over visible cells: mean SD across problems {F(input.LatentStats.Consistency.MeanStd)} "
            + "(a spread; no interval).");
        Line();
        LatentTopHeads(ev, line);
        Figures(line, "latent", "latent");
        SinkSection.Render(input, line);
    }

    private static void LatentHubs(Phase1ReportInput input, Action<string> line)
    {
        void Line(string text = "") => line(text);
        var (latent, ev) = (input.Latent, input.Evidence.Latent);
        Line("### Hub scores normalised by causal visibility");
        Line();
        Line("α(key) = mean attention to the key over the latent queries that can see it. \"Without self\" leaves out z_b's "
            + "own row (its self-attention), so α(z_K), read only by itself, has no such value.");
        Line();
        Line("| key | α (mean over queries that see it) | α without P0 (rows renormalised) "
            + "| × uniform causal row | × uniform, without P0 |");
        Line("|---|---|---|---|---|");
        foreach (var (key, h) in latent.Hub)
            Line($"| {key} | {F(h.Alpha)} | {F(h.AlphaWithoutFirstPosition)} | {F(h.UniformRatio, "0.00")} "
                + $"| {F(h.UniformRatioWithoutFirstPosition, "0.00")} |");
        Line();
        Line("The table above is the aggregate as `latent_summary.json` holds it (no interval: read it with the per-problem "
            + "table below, which recomputes each α per successful problem with its interval and uniform expectation).");
        Line();
        Line("| α of key | " + ScoredHeader);
        Line("|---|" + ScoredRule);
        foreach (var e in ev.Alpha.Concat(ev.AlphaWithoutSelf)) Line($"| {e.Metric} | {ScoredCells(e)}");
        Line();
        Line("Hub (largest α) over each named set of keys: "
            + string.Join("; ", latent.HubArgmax.Select(h => $"over {h.Keys}: **{h.WithSelf}** with self-attention, "
                + $"**{h.WithoutSelf}** without")) + ".");
        Line();
        var sink = latent.SinkRate;
        string Sink(string key, double v) =>
            $"{key} {F(v, "0.0")}%{(ev.SinkRatePercent.TryGetValue(key, out var i) ? $" [{F(i.Low, "0.0")}, {F(i.High, "0.0")}]" : "")}";
        Line($"Sink rate ({sink.Definition}, threshold α > {F(sink.Threshold, "0.0")}): "
            + $"{Sink("P0", sink.P0)}, {Sink("BOT", sink.Bot)}, {Sink("z1", sink.Z1)}.");
        Line();
    }

    private static void LatentTopHeads(LatentEvidence ev, Action<string> line)
    {
        line($"### Top {ev.TopHeads.Count} heads by their largest latent → latent cell (z_a → z_b, b ≤ a)");
        line("");
        line("| rank | head | argmax cell | really | value [95% CI] | rank [95% CI] |");
        line("|---|---|---|---|---|---|");
        var r = 0;
        foreach (var h in ev.TopHeads)
            line($"| {++r} | L{h.Layer}H{h.Head} | {h.ArgmaxCell} | {h.Really} | {CI(h.Max, "0.000")} | {Rank(h.Rank)} |");
        line("");
    }

    private static void IndexSection(Phase1ReportInput input, Action<string> line)
    {
        void Line(string text = "") => line(text);
        var (latent, hubScores, seqScores) = (input.Latent, input.Seed.Hub.AllHubScores, input.Seed.Sequential.Scores);
        Line("## What the seed's indices meant");
        Line();
        Line("The seed filled M[s, j] from key Q+1+j of the token fed at step s, believing it sat at Q+1+s. Side by side, from this run "
            + "(values repeated from the tables above, whose intervals apply):");
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
            + "each figure has one colour range per block (seed by-layer: 0–0.3 as the seed; others 0–1), latent figures a "
            + "second range for the latent block (keys z1..zK) and the question shown per token; hatched cells are structural.");
        Line();
    }
}
