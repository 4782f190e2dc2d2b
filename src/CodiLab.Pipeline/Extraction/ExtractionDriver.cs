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

    private sealed record ShardMeta(int Start, int Count, List<ProblemRecord> Problems);

    /// <summary>Reads the sample stage's dataset JSON.</summary>
    public static IReadOnlyList<SampledProblem> ReadDataset(string path) =>
        JsonSerializer.Deserialize<List<SampledProblem>>(File.ReadAllText(path))
        ?? throw new CodiLabException("the dataset JSON holds null.", path, "run the sample stage again.", ExitCodes.Corrupt);

    /// <summary>Runs every problem (resuming finished shards from <paramref name="scratch"/> when given).</summary>
    public ExtractionResult Run(IReadOnlyList<SampledProblem> problems, string? scratch)
    {
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
            var meta = shard is not null && File.Exists(shard + ".json") ? Resume(shard, start, count, result) : null;
            if (meta is not null) resumed += count;
            else
            {
                meta = Compute(problems, start, count, result);
                if (shard is not null) Save(shard, meta, result);
                computed += count;
            }
            records.AddRange(meta.Problems);
            Progress(start + count, problems.Count, resumed, computed, clock.Elapsed.TotalSeconds);
        }
        return result with { Problems = records };
    }

    private static ShardMeta Resume(string shard, int start, int count, ExtractionResult r)
    {
        var meta = JsonSerializer.Deserialize<ShardMeta>(File.ReadAllText(shard + ".json"))!;
        Npy.Read(shard + ".seed.npy").Values.CopyTo(r.Seed, (long)start * r.SeedCells);
        Npy.Read(shard + ".latent.npy").Values.CopyTo(r.Latent, (long)start * r.LatentCells);
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

    private ShardMeta Compute(IReadOnlyList<SampledProblem> problems, int start, int count, ExtractionResult r)
    {
        var meta = new ShardMeta(start, count, []);
        var prompts = problems
            .Skip(start)
            .Take(count)
            .Select(p => new CodiModel.Prompt(p.Question, model.PromptIdsAsGiven(p.Question)))
            .ToList();
        var traces = model.TraceMany(prompts, batch, maxNewTokens,
            (p, e) => log.WriteLine(
                $"{logPrefix} extract: problem '{p.Question[..Math.Min(40, p.Question.Length)]}…' failed: {e.Message}"));
        for (int j = 0; j < count; j++)
        {
            var (i, p) = (start + j, problems[start + j]);
            if (traces[j] is not { } trace)
            {
                // The seed's rule: the seed-convention slot stays zero, is flagged, and still counts; the latent view marks it NaN.
                Array.Fill(r.Latent, float.NaN, i * r.LatentCells, r.LatentCells);
                meta.Problems.Add(new ProblemRecord(
                    i, p.Gsm8kId, p.Question.Length, false, "the CODI loop failed on this problem (see the log)", 0, []));
                continue;
            }
            TraceConventions.Seed(trace).CopyTo(r.Seed, (long)i * r.SeedCells);
            TraceConventions.Latent(trace, model.NumLatent).CopyTo(r.Latent, (long)i * r.LatentCells);
            meta.Problems.Add(new ProblemRecord(i, p.Gsm8kId, p.Question.Length, true, null, trace.InputIds.Count, [.. trace.LogitLensTop1],
                maxNewTokens > 0 ? Decode(trace.AnswerText, p.Answer) : null));
        }
        return meta;
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
