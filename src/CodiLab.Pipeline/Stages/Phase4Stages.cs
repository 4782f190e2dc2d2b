using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using CodiLab.Analysis;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Extraction;
using CodiLab.Reports;
using CodiLab.Specs;

namespace CodiLab.Pipeline.Stages;

/// <summary>
/// Phase 4 (docs/phase4.md): the same experiment over the full set. p4-sample draws the set (always holding the Phase 1
/// sample), p4-extract runs the extract stage's code over it (same model stage, same cache, resumable shards), p4-analyze
/// reads the arrays once, problem by problem, and validates Phase 1–2's conclusions, p4-report renders figures and the report.
/// </summary>
public static class Phase4Stages
{
    /// <summary>The stage names, in order.</summary>
    public static readonly string[] Names = ["p4-sample", "p4-extract", "p4-analyze", "p4-report"];

    /// <summary>Every Phase 4 stage for a spec.</summary>
    public static IEnumerable<Stage> For(ExperimentSpec spec)
    {
        yield return Sample();
        yield return Extract(spec);
        yield return Analyze();
        yield return Report();
    }

    /// <summary>The full set: all of the dataset, or the Phase 1 sample plus a seeded draw of the others, in file order.</summary>
    public static Stage Sample() => Stage.Create("p4-sample", "Phase4", 1, Phase4SampleParameters.From, upstream: [],
        outputs: [Phase4Files.Dataset], externals: SampleStage.ResolveDataset, execute: (ctx, p) =>
        {
            // A synthetic set is generated on past dataset.size when Phase 4 asks for more: the generator is sequential, so the
            // first dataset.size problems are the Phase 1 dataset, from which the Phase 1 sample is drawn.
            var synthetic = p.Source == DatasetSource.Synthetic;
            var problems = synthetic ? SyntheticGsm8k.Generate(p.Seed, Math.Max(p.Size, p.Full.OrNull ?? 0))
                : Gsm8k.ReadJsonl(ctx.Externals["dataset"].Path!);
            var first = Gsm8k.SampleIndices(p.Seed, synthetic ? p.Size : problems.Count, p.Sample.OrNull);
            if (p.Full.OrNull is { } n && (n > problems.Count || n < first.Length))
                throw new CodiLabException($"cannot draw {n} Phase 4 problems holding the Phase 1 sample ({first.Length}) from {problems.Count}.",
                    ctx.Where("phase4.sample"), $"set phase4.sample between {first.Length} and {problems.Count}, or to 'all'.",
                    ExitCodes.InvalidSpec);
            var indices = Indices(p.Seed, problems.Count, first, p.Full.OrNull);
            var split = synthetic ? "synthetic" : p.Split.Word();
            File.WriteAllText(ctx.Output(Phase4Files.Dataset), Gsm8k.DatasetJson(Gsm8k.Records(problems, indices, split)));
        });

    // Every index, or the Phase 1 indices and a seeded draw (another stream of the seed) of the rest, sorted.
    private static long[] Indices(long seed, int count, long[] first, int? n)
    {
        if (n is null) return Gsm8k.SampleIndices(seed, count, null);
        var taken = first.ToHashSet();
        long[] rest = [.. Enumerable.Range(0, count).Select(i => (long)i).Where(i => !taken.Contains(i))];
        var extra = Gsm8k.SampleIndices(seed + 4, rest.Length, n.Value - first.Length).Select(i => rest[i]);
        return [.. first.Concat(extra).Order()];
    }

    /// <summary>The extract stage's code over the full set: the same model stage and arrays, its own cache entry and shards.</summary>
    public static Stage Extract(ExperimentSpec spec) => Stage.Create("p4-extract", "Phase4", 2, ExtractParameters.From,
        upstream: spec.Model.IsGenerated ? ["p4-sample", "model"] : ["p4-sample"],
        outputs: ExtractStage.Outputs,
        execute: (ctx, p) => ExtractStage.Execute(ctx, p, "p4-sample", Phase4Files.Dataset), externals: ModelStage.Resolve);

    /// <summary>One streaming pass over the arrays, then the validation, the summary and the per-problem table.</summary>
    public static Stage Analyze() => Stage.Create("p4-analyze", "Phase4", 2, Phase4AnalyzeParameters.From,
        upstream: ["sample", "p4-sample", "p4-extract"],
        outputs: [Phase4Files.Summary, Phase4Files.CanonicalSummary, Phase4Files.Problems], execute: RunAnalyze);

    /// <summary>Figures, then the report in Markdown and HTML.</summary>
    public static Stage Report() => Stage.Create("p4-report", "Phase4", 1, Phase4ReportParameters.From, upstream: ["p4-analyze"],
        outputs: [.. Phase4Figures.Files, Phase4Files.Report, Phase4Files.ReportHtml], execute: (ctx, p) =>
        {
            var summary = Phase4Files.Read(ctx.Input("p4-analyze", Phase4Files.Summary));
            var figures = Phase4Figures.Render(p.Name, summary).ToDictionary(f => f.File, f => f.Png);
            foreach (var (file, png) in figures) File.WriteAllBytes(ctx.Output(file), png);
            var markdown = Phase4Report.Render(p.Name, summary);
            File.WriteAllText(ctx.Output(Phase4Files.Report), markdown);
            File.WriteAllText(ctx.Output(Phase4Files.ReportHtml), ReportFormat.Html(markdown, "Phase 4: ", p.Name, f => figures[f]));
        });

    private sealed record FullProblem(
        [property: JsonPropertyName("gsm8k_id")] string Gsm8kId,
        [property: JsonPropertyName("question")] string Question,
        [property: JsonPropertyName("answer")] string Answer,
        [property: JsonPropertyName("full_solution")] string FullSolution);

    private static void RunAnalyze(StageContext ctx, Phase4AnalyzeParameters p)
    {
        var info = Phase1Files.ReadMetadata(ctx.Input("p4-extract", Phase1Files.Metadata));
        var problems = JsonSerializer.Deserialize<List<FullProblem>>(File.ReadAllText(ctx.Input("p4-sample", Phase4Files.Dataset)))!;
        var members = Members(ctx, problems);
        var shape = new Phase4Shape(info.Layers, info.Heads, info.Latents);
        var acc = Accumulate(ctx, shape, info, members);
        var settings = new Phase4Settings(p.HubRatioThreshold, p.SequentialThreshold, p.SkipThreshold, p.Subsets, p.Bootstrap, p.Seed);
        var validation = Phase4Analysis.Validate(shape, acc, members, settings);
        var perProblem = Phase4Metrics.Headline.Select((m, i) => (m, acc.Headline[i])).ToDictionary(x => x.m, x => x.Item2);
        var summary = new Phase4Summary(p.Name, info.Model, info.Layers, info.Heads, info.Latents, problems.Count, members.Count,
            info.Failures, info.Accuracy, settings, validation, Phase4Analysis.Patterns(shape, acc, members),
            Phase4Analysis.HeadPoints(shape, acc, members), perProblem);
        Phase4Files.Write(ctx.Output(Phase4Files.Summary), ctx.Output(Phase4Files.CanonicalSummary), summary);
        File.WriteAllText(ctx.Output(Phase4Files.Problems), ProblemsCsv(problems, info, acc, members));
    }

    // The Phase 1 sample's rows in the full set, found by id; one missing means the sets were drawn from different data.
    private static List<int> Members(StageContext ctx, List<FullProblem> problems)
    {
        var at = problems.Select((q, i) => (q.Gsm8kId, i)).ToDictionary(x => x.Gsm8kId, x => x.i);
        var first = ExtractionDriver.ReadDataset(ctx.Input("sample", Phase1Files.Dataset));
        var missing = first.FirstOrDefault(q => !at.ContainsKey(q.Gsm8kId));
        if (missing is not null)
            throw new CodiLabException($"the Phase 1 problem {missing.Gsm8kId} is not in the Phase 4 set, so the sample is not a subset of it.",
                ctx.Where("phase4.sample"), "run Phase 1 and Phase 4 on the same dataset (dataset.*), with phase4.sample 'all' or larger "
                + "than dataset.sample.", ExitCodes.InvalidSpec);
        return [.. first.Select(q => at[q.Gsm8kId])];
    }

    // The one pass: both arrays read a block of problems at a time, each problem handed to the accumulator once.
    private static Phase4Accumulator Accumulate(StageContext ctx, Phase4Shape shape, ExtractMetadata info, List<int> members)
    {
        using var seed = NpyReader.Open(ctx.Input("p4-extract", Phase1Files.SeedRaw));
        using var latent = NpyReader.Open(ctx.Input("p4-extract", Phase1Files.LatentRaw));
        seed.Expect(info.Problems, shape.SeedCells);
        latent.Expect(info.Problems, shape.LatentCells);
        var acc = new Phase4Accumulator(shape, info.Problems, members.ToHashSet());
        const int block = 64;
        var (s, l) = (new float[block * shape.SeedCells], new float[block * shape.LatentCells]);
        for (int first = 0; first < info.Problems; first += block)
        {
            var count = Math.Min(block, info.Problems - first);
            seed.ReadRows(first, count, s);
            latent.ReadRows(first, count, l);
            for (int j = 0; j < count; j++)
                acc.Add(first + j, info.ProblemRecords[first + j].Success, s.AsSpan(j * shape.SeedCells, shape.SeedCells),
                    l.AsSpan(j * shape.LatentCells, shape.LatentCells));
        }
        return acc;
    }

    private static string ProblemsCsv(List<FullProblem> problems, ExtractMetadata info, Phase4Accumulator acc, List<int> members)
    {
        var inSample = members.ToHashSet();
        var decoded = info.ProblemRecords.Any(r => r.Answer is not null);
        var csv = new StringBuilder("index,gsm8k_id,in_phase1_sample,success,question_chars,prompt_tokens,reasoning_steps,answer_magnitude,"
            + "seed_hub_position," + string.Join(",", Phase4Metrics.Headline) + (decoded ? ",correct" : "") + "\n");
        var inv = CultureInfo.InvariantCulture;
        for (int i = 0; i < problems.Count; i++)
        {
            var (q, r) = (problems[i], info.ProblemRecords[i]);
            var hub = acc.HubIncoming[i];
            var magnitude = double.TryParse(q.Answer.Replace(",", "", StringComparison.Ordinal), NumberStyles.Float, inv, out var v)
                ? Math.Abs(v).ToString("R", inv) : "";
            csv.Append(inv, $"{i},{q.Gsm8kId},{inSample.Contains(i)},{r.Success},{q.Question.Length},{r.PromptTokens},")
                .Append(inv, $"{ReasoningSteps(q.FullSolution)},{magnitude},{Array.IndexOf(hub, hub.Max())}");
            foreach (var values in acc.Headline) csv.Append(',').Append(double.IsNaN(values[i]) ? "" : values[i].ToString("0.######", inv));
            if (decoded) csv.Append(',').Append(r.Answer?.Correct.ToString() ?? "");
            csv.Append('\n');
        }
        return csv.ToString();
    }

    /// <summary>Reasoning steps of a gold solution: its &lt;&lt;…&gt;&gt; calculator annotations, or else its non-empty lines before ####.</summary>
    public static int ReasoningSteps(string solution)
    {
        var annotations = 0;
        for (var at = solution.IndexOf("<<", StringComparison.Ordinal); at >= 0; at = solution.IndexOf("<<", at + 2, StringComparison.Ordinal))
            annotations++;
        if (annotations > 0) return annotations;
        var body = solution.Split("####")[0];
        return body.Split('\n').Count(line => !string.IsNullOrWhiteSpace(line));
    }
}
