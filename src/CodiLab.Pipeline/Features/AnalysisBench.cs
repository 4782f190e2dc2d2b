using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Serialization;
using CodiLab.Analysis;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Stages;
using CodiLab.Specs;

namespace CodiLab.Pipeline.Features;

/// <summary>One stage's time (wall and CPU, since a shared host stretches wall time) and peak memory.</summary>
public sealed record AnalysisStageTiming(
    [property: JsonPropertyName("stage")] string Stage,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("cpu_seconds")] double CpuSeconds,
    [property: JsonPropertyName("peak_host_memory_mb")] double PeakHostMemoryMb);

/// <summary><c>bench-analysis.json</c>: everything after extract, timed on synthetic arrays of a given shape.</summary>
public sealed record AnalysisBenchResult(
    [property: JsonPropertyName("experiment")] string Experiment,
    [property: JsonPropertyName("problems")] int Problems,
    [property: JsonPropertyName("layers")] int Layers,
    [property: JsonPropertyName("heads")] int Heads,
    [property: JsonPropertyName("num_latent")] int Latents,
    [property: JsonPropertyName("raw_bytes")] long RawBytes,
    [property: JsonPropertyName("synthesis_seconds")] double SynthesisSeconds,
    [property: JsonPropertyName("stages")] IReadOnlyList<AnalysisStageTiming> Stages,
    [property: JsonPropertyName("total_seconds")] double TotalSeconds,
    [property: JsonPropertyName("total_cpu_seconds")] double TotalCpuSeconds,
    [property: JsonPropertyName("peak_host_memory_mb")] double PeakHostMemoryMb,
    [property: JsonPropertyName("load_average")] double? LoadAverage,
    [property: JsonPropertyName("cpu_count")] int CpuCount,
    [property: JsonPropertyName("commit")] string? Commit,
    [property: JsonPropertyName("measured_at")] string MeasuredAt);

/// <summary>
/// Times the Phase 1–2 stages that follow extract (aggregate, analyze, figures, report, heads, heads-figures,
/// heads-report) and Phase 4's (p4-analyze, p4-report): whatever <see cref="StageCatalog"/> lists for the spec, through
/// their normal stage code, on synthetic extract outputs of any shape (e.g. LLaMA-1B's 16 × 32 heads at N = 7,473), so
/// analysis cost can be measured without a model run. The arrays are random but well formed: each latent row is a probability
/// distribution over the keys it can see (NaN elsewhere) and the seed matrix is cut from it as extract cuts it.
/// Works in <c>artifacts/&lt;experiment&gt;/bench-analysis/</c>, bypassing the cache, and removes the arrays after.
/// Peak memory is per stage (the kernel's high-water mark, reset between stages) and overall.
/// </summary>
public static class AnalysisBench
{
    /// <summary>
    /// Runs it and writes <c>bench-analysis.json</c> beside the experiment; <paramref name="keep"/> keeps the stages' files.
    /// </summary>
    public static AnalysisBenchResult Run(
        ExperimentSpec spec, PipelineEnvironment env, int problems, int layers, int heads, int seed = 7, bool keep = false)
    {
        var root = Path.Combine(env.ExperimentRoot(spec.Name), "bench-analysis");
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        var k = spec.Model.NumLatent;
        var folders = new Dictionary<string, string>(StringComparer.Ordinal);
        string Folder(string stage) => folders.TryGetValue(stage, out var f) ? f
            : folders[stage] = Directory.CreateDirectory(Path.Combine(root, stage)).FullName;
        var clock = Stopwatch.StartNew();
        var rawBytes = Synthesize(Folder("extract"), Folder("sample"), Folder("model"), problems, layers, heads, k, seed);
        SynthesizeDatasets(Folder("sample"), Folder("p4-sample"), problems, seed);
        var synthesis = clock.Elapsed.TotalSeconds;
        var loadAverage = HostProbe.LoadAverage();
        var timings = new List<AnalysisStageTiming>();
        var overallPeak = 0.0;
        // Phase 4's analysis reads the same arrays as p4-extract's outputs, over a full set that holds the Phase 1 sample.
        string Upstream(string stage) => Folder(stage switch { "p4-extract" => "extract", _ => stage });
        var stages = StageCatalog.For(spec).Where(s => s.Phase is "Phase1" or "Phase2" or "Phase4"
            && s.Name is not ("sample" or "model" or "extract" or "p4-sample" or "p4-extract"));
        foreach (var stage in stages)
        {
            var upstream = stage.Upstream.ToDictionary(u => u, Upstream, StringComparer.Ordinal);
            var ctx = new StageContext(spec, stage.Parameters(spec), env, Folder(stage.Name), upstream,
                new Dictionary<string, ExternalInput>(StringComparer.Ordinal), "bench-analysis-" + stage.Name);
            HostProbe.ResetPeak();
            var (user, kernel) = HostProbe.CpuSeconds();
            var watch = Stopwatch.StartNew();
            stage.Execute(ctx);
            var peak = HostProbe.PeakResidentMb();
            var (user2, kernel2) = HostProbe.CpuSeconds();
            overallPeak = Math.Max(overallPeak, peak);
            timings.Add(new AnalysisStageTiming(
                stage.Name, Math.Round(watch.Elapsed.TotalSeconds, 3), Math.Round(user2 + kernel2 - user - kernel, 2), peak));
            env.Log.WriteLine(FormattableString.Invariant(
                $"bench --analysis: {stage.Name} {watch.Elapsed.TotalSeconds:F2} s, peak {peak} MB"));
        }
        var result = new AnalysisBenchResult(spec.Name, problems, layers, heads, k, rawBytes, Math.Round(synthesis, 3), timings,
            Math.Round(timings.Sum(t => t.Seconds), 3), Math.Round(timings.Sum(t => t.CpuSeconds), 2), overallPeak, loadAverage,
            Environment.ProcessorCount,
            HarnessInfo.Harness.Commit, DateTimeOffset.UtcNow.ToString("u", CultureInfo.InvariantCulture));
        if (!keep) Directory.Delete(root, recursive: true);
        Hashing.WriteAtomic(Path.Combine(env.ExperimentRoot(spec.Name), "bench-analysis.json"),
            System.Text.Json.JsonSerializer.Serialize(result, ArtifactJson.Options));
        return result;
    }

    // Writes the extract stage's three outputs (and the files the report stage hashes) for a synthetic run; returns
    // the raw arrays' size in bytes.
    private static long Synthesize(string extract, string sample, string model, int n, int layers, int heads, int k, int seed)
    {
        var random = new Random(seed);
        var (rows, columns) = (k + 1, k + 3);
        var latent = new float[(long)n * layers * heads * rows * columns];
        Array.Fill(latent, float.NaN);
        var (size, seedCells) = (Conventions.SeedSize, Conventions.SeedSize * Conventions.SeedSize);
        var seedMatrix = new float[(long)n * layers * heads * seedCells];
        for (long cell = 0; cell < (long)n * layers * heads; cell++)
            for (int r = 0; r < rows; r++)
            {
                var at = (cell * rows + r) * columns;
                var sum = 0.0;
                // A row of query r sees P0, the question, BOT and z1..zr; skewed weights so heads differ.
                for (int c = 0; c < 3 + r; c++) sum += latent[at + c] = (float)Math.Pow(random.NextDouble(), 3);
                for (int c = 0; c < 3 + r; c++) latent[at + c] = (float)(latent[at + c] / sum);
                if (r is < 1 or >= Conventions.SeedSize) continue;
                for (int j = 0; j < r; j++) seedMatrix[(cell * size + r) * size + j] = latent[at + 3 + j];
            }
        Npy.Write(Path.Combine(extract, Phase1Files.LatentRaw), [n, layers, heads, rows, columns], latent, half: false);
        Npy.Write(Path.Combine(extract, Phase1Files.SeedRaw), [n, layers, heads, size, size], seedMatrix, half: true);
        // Value weighting is left as the identity here (the benchmark times the arithmetic, not what the weights mean).
        Npy.Write(Path.Combine(extract, Phase1Files.LatentValueWeighted), [n, layers, heads, rows, columns], latent, half: false);
        var extraBytes = SynthesizeQuestionAndLens(extract, latent, n, layers, heads, rows, columns);
        var records = Enumerable.Range(0, n).Select(i => new ProblemRecord(i, $"synthetic-{i}", 200, true, null, 60 + i % 80,
            [.. Enumerable.Range(0, rows).Select(s => (i + s) % 500)])).ToList();
        ArtifactJson.Write(Path.Combine(extract, Phase1Files.Metadata), Metadata(n, layers, heads, k, records));
        // The report stages name a generated model's hash; this placeholder stands in for it.
        Directory.CreateDirectory(Path.Combine(model, "model"));
        File.WriteAllText(Path.Combine(model, "model", "model.safetensors"), "synthetic analysis benchmark: no model");
        return latent.LongLength * 8 + seedMatrix.LongLength * 2 + extraBytes;
    }

    // The datasets the stages name: the full set (Phase 4's) of synthetic problems, and its first 100 as the Phase 1 sample.
    private static void SynthesizeDatasets(string sample, string full, int n, int seed)
    {
        var problems = SyntheticGsm8k.Generate(seed, n);
        File.WriteAllText(Path.Combine(full, Phase4Files.Dataset),
            Gsm8k.DatasetJson(Gsm8k.Records(problems, Enumerable.Range(0, n).Select(i => (long)i), "synthetic")));
        File.WriteAllText(Path.Combine(sample, Phase1Files.Dataset),
            Gsm8k.DatasetJson(Gsm8k.Records(problems, Enumerable.Range(0, Math.Min(100, n)).Select(i => (long)i), "synthetic")));
    }

    // The question-token and logit-lens outputs of extract: each row's P0 and question mass split over fixed token kinds
    // (10 prompt tokens: P0, 3 numbers, 1 operator, 4 others, the last), its 8 strongest keys, and lens ids with a
    // one-step solution; returns the arrays' size in bytes.
    private static long SynthesizeQuestionAndLens(string extract, float[] latent, int n, int layers, int heads, int rows, int columns)
    {
        string[] kinds = ["P0", "number", "number", "number", "operator", "other", "other", "other", "other", "last"];
        var (mass, keys, weights) = (new float[(long)n * layers * heads * rows * 5], new float[(long)n * layers * heads * rows * 8],
            new float[(long)n * layers * heads * rows * 8]);
        for (long row = 0; row < (long)n * layers * heads * rows; row++)
        {
            var (p0, question) = (latent[row * columns], latent[row * columns + 1]);
            (mass[row * 5], mass[row * 5 + 1], mass[row * 5 + 2]) = (p0, 0.3f * question, 0.1f * question);
            (mass[row * 5 + 3], mass[row * 5 + 4]) = (0.2f * question, 0.4f * question);
            for (int j = 0; j < 8; j++) (keys[row * 8 + j], weights[row * 8 + j]) = (1 + j, question / (2 << j));
        }
        Npy.Write(Path.Combine(extract, Phase1Files.QuestionKindMass), [n, layers, heads, rows, 5], mass, half: false);
        Npy.Write(Path.Combine(extract, Phase1Files.QuestionTopKeys), [n, layers, heads, rows, 8], keys, half: false);
        Npy.Write(Path.Combine(extract, Phase1Files.QuestionTopWeights), [n, layers, heads, rows, 8], weights, half: false);
        var queries = Conventions.LatentRows(rows - 1);
        ArtifactJson.Write(Path.Combine(extract, Phase1Files.QuestionTokens), Enumerable.Range(0, n).Select(i => new PromptTokenRecord(
            i, $"synthetic-{i}", [.. Enumerable.Range(0, kinds.Length)], [.. kinds.Select((_, t) => $"t{t}")], kinds)).ToList());
        ArtifactJson.Write(Path.Combine(extract, Phase1Files.LensTopK), new LensRecords(5, queries, [.. Enumerable.Range(0, n)
            .Select(i => new LensProblem(i, $"synthetic-{i}", true,
                [.. queries.Select((_, q) => (IReadOnlyList<int>)[.. Enumerable.Range(q, 5)])],
                [.. queries.Select((_, q) => (IReadOnlyList<string>)[.. Enumerable.Range(q, 5).Select(v => $"{v}")])],
                $"2+3=<<2+3=5>>5\n#### {i % 7}"))]));
        return mass.LongLength * 4 + keys.LongLength * 8;
    }

    private static ExtractMetadata Metadata(int n, int layers, int heads, int k, IReadOnlyList<ProblemRecord> records) =>
        new("synthetic", null, n, layers, heads, [.. Enumerable.Range(0, Conventions.SeedSize)], Phase1Files.Dataset, records, k, 0,
            null, "float32", "cpu", new ConventionLayouts(
                new SeedLayout(Phase1Files.SeedRaw, "[problem, layer, head, row, column], float16",
                    Conventions.SeedRowsReally, Conventions.SeedColumnsReally, "synthetic"),
                new LatentLayout(Phase1Files.LatentRaw, "[problem, layer, head, query, key], float32; NaN = not visible",
                    Conventions.LatentRows(k), Conventions.LatentColumns(k), "synthetic")));
}
