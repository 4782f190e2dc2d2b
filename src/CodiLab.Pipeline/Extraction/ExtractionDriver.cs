using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using CodiLab.Analysis;
using CodiLab.Models.Codi;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;

namespace CodiLab.Pipeline.Extraction;

/// <summary>One sampled problem as the dataset JSON holds it.</summary>
public sealed record SampledProblem(
    [property: System.Text.Json.Serialization.JsonPropertyName("gsm8k_id")] string Gsm8kId,
    [property: System.Text.Json.Serialization.JsonPropertyName("question")] string Question,
    [property: System.Text.Json.Serialization.JsonPropertyName("answer")] string Answer);

/// <summary>What an extraction produced: both arrays, flattened per problem, and one record per problem.</summary>
public sealed record ExtractionResult(float[] Seed, float[] Latent, IReadOnlyList<ProblemRecord> Problems, int SeedCells, int LatentCells);

/// <summary>
/// The CODI loop over a list of problems, in shards kept in a scratch folder so an interrupted run resumes; each
/// shard's arrays and records are written before its marker, and the log shows done/total, rate and ETA.
/// </summary>
public sealed class ExtractionDriver(CodiModel model, int batch, int maxNewTokens, TextWriter log, string logPrefix)
{
    /// <summary>Problems per shard at least (a shard holds whole batches, sorted by length inside).</summary>
    public const int ShardSize = 64;

    // A shard says exactly which problems it holds and what shaped it; one that does not match the current plan is
    // recomputed, never stitched in (an earlier run with another batch size cut its shards elsewhere).
    private sealed record ShardMeta(
        int Start, int Count, int Batch, int MaxNewTokens, int SeedCells, int LatentCells, List<ProblemRecord> Problems);

    /// <summary>Reads the sample stage's dataset JSON.</summary>
    public static IReadOnlyList<SampledProblem> ReadDataset(string path) =>
        JsonSerializer.Deserialize<List<SampledProblem>>(File.ReadAllText(path))
        ?? throw new CodiLabException("the dataset JSON holds null.", path, "run the sample stage again.", ExitCodes.Corrupt);

    /// <summary>Each problem's prompt ids (the question as the seed fed it, then BOT), tokenized once per run.</summary>
    public static IReadOnlyList<CodiModel.Prompt> Prompts(CodiModel model, IReadOnlyList<SampledProblem> problems) =>
        [.. problems.Select(p => new CodiModel.Prompt(p.Question, model.PromptIdsAsGiven(p.Question)))];

    /// <summary>
    /// Refuses, before anything runs, a sample whose longest prompt with its thoughts and <paramref name="maxNewTokens"/>
    /// answer tokens would pass the model's position limit (<see cref="PositionLimit"/>); <paramref name="where"/> is the
    /// spec line of extraction.max_new_tokens.
    /// </summary>
    public static void CheckPositions(CodiModel model, IReadOnlyList<CodiModel.Prompt> prompts, int maxNewTokens, string where)
    {
        if (prompts.Count == 0) return;
        if (PositionLimit.Problem(model, prompts.Max(q => q.Ids.Count), maxNewTokens, "extraction.max_new_tokens") is { } problem)
            throw new CodiLabException(problem, where, "lower extraction.max_new_tokens.", ExitCodes.InvalidSpec);
    }

    /// <summary>
    /// Runs every problem through its prompt (<see cref="Prompts"/>, in the same order), resuming finished shards from
    /// <paramref name="scratch"/> when given.
    /// </summary>
    public ExtractionResult Run(IReadOnlyList<SampledProblem> problems, IReadOnlyList<CodiModel.Prompt> prompts, string? scratch)
    {
        if (prompts.Count != problems.Count)
            throw new ArgumentException($"{prompts.Count} prompts for {problems.Count} problems", nameof(prompts));
        var config = model.Loaded.Config;
        var k = model.NumLatent;
        var seedCells = config.Layers * config.Heads * Conventions.SeedSize * Conventions.SeedSize;
        var latentCells = config.Layers * config.Heads * (k + 1) * (k + 3);
        var result = new ExtractionResult(
            new float[problems.Count * seedCells], new float[problems.Count * latentCells], [], seedCells, latentCells);
        var records = new List<ProblemRecord>();
        if (scratch is not null) Directory.CreateDirectory(scratch);
        var clock = Stopwatch.StartNew();
        var (resumed, computed) = (0, 0);
        var shardSize = Math.Max(ShardSize, 4 * batch);
        for (int start = 0; start < problems.Count; start += shardSize)
        {
            var count = Math.Min(shardSize, problems.Count - start);
            var shard = scratch is null ? null : Path.Combine(scratch, $"shard-{start:D7}");
            var meta = shard is not null && File.Exists(shard + ".json")
                ? Resume(shard, Plan(problems, start, count, result), result)
                : null;
            if (meta is not null) resumed += count;
            else
            {
                meta = Compute(problems, prompts, start, count, result);
                if (shard is not null) Save(shard, meta, result);
                computed += count;
            }
            records.AddRange(meta.Problems);
            Progress(start + count, problems.Count, resumed, computed, clock.Elapsed.TotalSeconds);
        }
        CheckCoverage(problems, records);
        return result with { Problems = records };
    }

    // What a shard at this position must hold under the current plan.
    private ShardMeta Plan(IReadOnlyList<SampledProblem> problems, int start, int count, ExtractionResult r) =>
        new(start, count, batch, maxNewTokens, r.SeedCells, r.LatentCells,
            [.. problems.Skip(start).Take(count)
                .Select((p, j) => new ProblemRecord(start + j, p.Gsm8kId, p.Question.Length, true, null, 0, []))]);

    // Every problem computed exactly once, in order, before anything is committed.
    private static void CheckCoverage(IReadOnlyList<SampledProblem> problems, IReadOnlyList<ProblemRecord> records)
    {
        var wrong = records.Count != problems.Count
            ? $"{records.Count} records for {problems.Count} problems"
            : records.Select((r, i) => (r, i)).Where(x => x.r.Index != x.i || x.r.Gsm8kId != problems[x.i].Gsm8kId)
                .Select(x => $"record {x.i} is problem {x.r.Index} ({x.r.Gsm8kId}), expected {problems[x.i].Gsm8kId}").FirstOrDefault();
        if (wrong is not null)
            throw new CodiLabException(
                $"the extraction does not cover every sampled problem exactly once ({wrong}); nothing was committed.", null,
                "run the stage again with --force; if it repeats, report it with the log.", ExitCodes.Failure);
    }

    private static ShardMeta? Resume(string shard, ShardMeta plan, ExtractionResult r)
    {
        ShardMeta? meta;
        try
        {
            meta = JsonSerializer.Deserialize<ShardMeta>(File.ReadAllText(shard + ".json"));
        }
        catch (JsonException)
        {
            meta = null;
        }
        var matches = meta is not null && meta.Start == plan.Start && meta.Count == plan.Count && meta.Batch == plan.Batch
            && meta.MaxNewTokens == plan.MaxNewTokens && meta.SeedCells == plan.SeedCells && meta.LatentCells == plan.LatentCells
            && meta.Problems.Select(p => (p.Index, p.Gsm8kId)).SequenceEqual(plan.Problems.Select(p => (p.Index, p.Gsm8kId)));
        var seed = matches ? Npy.Read(shard + ".seed.npy").Values : [];
        var latent = matches ? Npy.Read(shard + ".latent.npy").Values : [];
        var whole = seed.Length == (long)plan.Count * plan.SeedCells && latent.Length == (long)plan.Count * plan.LatentCells;
        if (!matches || !whole) return null;
        seed.CopyTo(r.Seed, (long)plan.Start * r.SeedCells);
        latent.CopyTo(r.Latent, (long)plan.Start * r.LatentCells);
        return meta;
    }

    private static void Save(string shard, ShardMeta meta, ExtractionResult r)
    {
        var (start, count) = (meta.Start, meta.Count);
        Npy.Write(shard + ".seed.npy", [count, r.SeedCells], r.Seed.AsSpan(start * r.SeedCells, count * r.SeedCells), half: false);
        Npy.Write(shard + ".latent.npy", [count, r.LatentCells],
            r.Latent.AsSpan(start * r.LatentCells, count * r.LatentCells), half: false);
        Hashing.WriteAtomic(shard + ".json", JsonSerializer.Serialize(meta)); // written last: marks the shard complete
    }

    private ShardMeta Compute(
        IReadOnlyList<SampledProblem> problems, IReadOnlyList<CodiModel.Prompt> prompts, int start, int count, ExtractionResult r)
    {
        var meta = new ShardMeta(start, count, batch, maxNewTokens, r.SeedCells, r.LatentCells, []);
        var traces = model.TraceMany([.. prompts.Skip(start).Take(count)], batch, maxNewTokens,
            (p, e) => log.WriteLine(
                $"{logPrefix} extract: problem '{p.Question[..Math.Min(40, p.Question.Length)]}…' failed: {e.Message}"));
        for (int j = 0; j < count; j++)
        {
            var (i, p) = (start + j, problems[start + j]);
            var trace = traces[j];
            var error = trace is null ? "the CODI loop failed on this problem (see the log)" : NonFinite(trace);
            if (trace is null || error is not null)
            {
                // The seed's rule: the seed-convention slot stays zero, is flagged, and still counts; the latent view marks it NaN.
                // Non-finite attention is a failure too: it is never stored as if it were measured.
                Array.Fill(r.Latent, float.NaN, i * r.LatentCells, r.LatentCells);
                meta.Problems.Add(new ProblemRecord(i, p.Gsm8kId, p.Question.Length, false, error, 0, []));
                continue;
            }
            TraceConventions.Seed(trace).CopyTo(r.Seed, (long)i * r.SeedCells);
            TraceConventions.Latent(trace, model.NumLatent).CopyTo(r.Latent, (long)i * r.LatentCells);
            meta.Problems.Add(new ProblemRecord(i, p.Gsm8kId, p.Question.Length, true, null, trace.InputIds.Count, [.. trace.LogitLensTop1],
                maxNewTokens > 0 ? Decode(trace.AnswerText, p.Answer) : null));
        }
        return meta;
    }

    // Why a trace cannot be used (the first non-finite attention value or latent norm), or null when all are finite.
    private static string? NonFinite(TraceResult trace)
    {
        foreach (var (query, layers) in trace.Attention)
            for (int l = 0; l < layers.Length; l++)
                for (int h = 0; h < layers[l].Length; h++)
                    if (layers[l][h].Any(v => !float.IsFinite(v)))
                        return $"non-finite attention ({query} query, layer {l}, head {h}): "
                            + "NaN or infinite weights, or an overflow in the dtype";
        for (int z = 0; z < trace.LatentNorms.Count; z++)
            if (!float.IsFinite(trace.LatentNorms[z])) return $"non-finite latent z{z + 1}";
        return null;
    }

    private static Decoded Decode(string text, string gold)
    {
        var predicted = CodiModel.ParseAnswer(text);
        return new Decoded(text, predicted, predicted is { } v && Gold(gold) is { } g && v == g);
    }

    // The gold answer of a dataset record (the text after ####, commas removed), as a number.
    private static double? Gold(string answer) =>
        double.TryParse(
            answer.Replace(",", "", StringComparison.Ordinal).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
            ? v
            : null;

    private void Progress(int done, int total, int resumed, int computed, double seconds)
    {
        var rate = computed / Math.Max(seconds, 1e-9);
        var eta = computed == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $", ETA {(total - done) / rate:0}s");
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{logPrefix} extract: {done}/{total} problems ({resumed} resumed), {rate:0.0} problems/s{eta}"));
    }
}
