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

/// <summary>
/// What an extraction produced: one record per problem, and where its shards lie (null when the run kept no scratch,
/// as a timing-only run does); <see cref="ExtractionDriver.WriteArrays"/> turns the shards into the output files.
/// </summary>
public sealed record ExtractionResult(IReadOnlyList<ProblemRecord> Problems, string? Scratch, IReadOnlyList<int> ShardStarts);

/// <summary>
/// The CODI loop over a list of problems, in shards kept in a scratch folder so an interrupted run resumes; each
/// shard's arrays (<see cref="ExtractArrays"/>) and records are written before its marker, and the log shows
/// done/total, rate and ETA. Only one shard's rows are ever in memory: the output arrays are assembled from the
/// shards file by file (<see cref="WriteArrays"/>).
/// </summary>
/// <param name="model">The loaded model.</param>
/// <param name="batch">Problems per batch.</param>
/// <param name="maxNewTokens">Answer tokens decoded after EOT.</param>
/// <param name="log">Where failed problems are named.</param>
/// <param name="logPrefix">Prefix of log and progress lines, e.g. <c>[tiny-llama]</c>.</param>
/// <param name="arrays">The arrays to store (default: every one).</param>
/// <param name="progress">Where done/total, rate, ETA and batch size are shown (default: plain lines on the log).</param>
public sealed class ExtractionDriver(
    CodiModel model, int batch, int maxNewTokens, TextWriter log, string logPrefix, IReadOnlyList<ExtractArray>? arrays = null,
    ProgressReporter? progress = null)
{
    private TrackedWork? _work;

    /// <summary>Problems per shard at least (a shard holds whole batches, sorted by length inside).</summary>
    public const int ShardSize = 64;

    /// <summary>Problems per shard at this batch size: <see cref="ShardSize"/>, and at least four batches.</summary>
    public static int ShardSizeFor(int batch) => Math.Max(ShardSize, 4 * batch);

    private readonly IReadOnlyList<ExtractArray> _arrays = arrays ?? ExtractArrays.All;
    private readonly ModelShape _shape = new(model.Loaded.Config.Layers, model.Loaded.Config.Heads, model.NumLatent);

    // A shard says exactly which problems it holds and what shaped it (values per problem of each array, by name);
    // one that does not match the current plan is recomputed, never stitched in (an earlier run with another batch
    // size cut its shards elsewhere; one without an array added since lacks its file).
    private sealed record ShardMeta(
        int Start, int Count, int Batch, int MaxNewTokens, Dictionary<string, int> Cells, List<ProblemRecord> Problems);

    /// <summary>The model dimensions the arrays are shaped by.</summary>
    public ModelShape Shape => _shape;

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
    /// <paramref name="scratch"/> when given; without a scratch folder the arrays are computed and dropped (timing).
    /// </summary>
    public ExtractionResult Run(IReadOnlyList<SampledProblem> problems, IReadOnlyList<CodiModel.Prompt> prompts, string? scratch)
    {
        if (prompts.Count != problems.Count)
            throw new ArgumentException($"{prompts.Count} prompts for {problems.Count} problems", nameof(prompts));
        model.CaptureValueNorms = true; // the value-weighted array reads ‖W_O^h v‖ from every trace
        var records = new List<ProblemRecord>();
        var starts = new List<int>();
        if (scratch is not null) Directory.CreateDirectory(scratch);
        var resumed = 0;
        Progress(0, problems.Count, 0);
        var shardSize = ShardSizeFor(batch);
        for (int start = 0; start < problems.Count; start += shardSize)
        {
            var count = Math.Min(shardSize, problems.Count - start);
            var shard = scratch is null ? null : ShardPath(scratch, start);
            var meta = shard is not null && File.Exists(shard + ".json") ? Resume(shard, Plan(problems, start, count)) : null;
            if (meta is not null) resumed += count;
            else
            {
                var (computedMeta, rows) = Compute(problems, prompts, start, count);
                meta = computedMeta;
                if (shard is not null) Save(shard, meta, rows);
            }
            records.AddRange(meta.Problems);
            starts.Add(start);
            Progress(start + count, problems.Count, resumed);
        }
        CheckCoverage(problems, records);
        return new ExtractionResult(records, scratch, starts);
    }

    /// <summary>
    /// Writes each array's output file (<paramref name="outputPath"/> of the array) from the shards, header first and
    /// then shard by shard, renamed into place when complete: the whole array is never in memory.
    /// </summary>
    public void WriteArrays(ExtractionResult result, Func<ExtractArray, string> outputPath)
    {
        if (result.Scratch is null) throw new InvalidOperationException("an extraction run without a scratch folder kept no arrays");
        var n = result.Problems.Count;
        foreach (var array in _arrays)
        {
            var row = array.RowShape(_shape);
            var cells = array.Cells(_shape);
            using var writer = new NpyWriter(outputPath(array), [n, .. row.Select(d => (long)d)], array.DType);
            foreach (var start in result.ShardStarts)
            {
                using var shard = NpyReader.Open($"{ShardPath(result.Scratch, start)}.{array.Name}.npy");
                var values = new float[shard.Count];
                shard.ReadAll(values);
                writer.Append(values);
            }
            writer.Commit();
        }
    }

    private static string ShardPath(string scratch, int start) => Path.Combine(scratch, $"shard-{start:D7}");

    // What a shard at this position must hold under the current plan.
    private ShardMeta Plan(IReadOnlyList<SampledProblem> problems, int start, int count) =>
        new(start, count, batch, maxNewTokens, CellsByName(),
            [.. problems.Skip(start).Take(count)
                .Select((p, j) => new ProblemRecord(start + j, p.Gsm8kId, p.Question.Length, true, null, 0, []))]);

    private Dictionary<string, int> CellsByName() => _arrays.ToDictionary(a => a.Name, a => a.Cells(_shape));

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

    private ShardMeta? Resume(string shard, ShardMeta plan)
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
            && meta.MaxNewTokens == plan.MaxNewTokens && meta.Cells is not null
            && meta.Cells.Count == plan.Cells.Count && plan.Cells.All(c => meta.Cells.TryGetValue(c.Key, out var v) && v == c.Value)
            && meta.Problems.Select(p => (p.Index, p.Gsm8kId)).SequenceEqual(plan.Problems.Select(p => (p.Index, p.Gsm8kId)));
        // Only the headers are read: each array file must be there, whole, with the planned rows.
        return matches && _arrays.All(a => Whole($"{shard}.{a.Name}.npy", plan.Count, plan.Cells[a.Name])) ? meta : null;
    }

    private static bool Whole(string path, int rows, int cells)
    {
        if (!File.Exists(path)) return false;
        try
        {
            using var reader = NpyReader.Open(path);
            return reader.Rows == rows && reader.RowCells == cells;
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    private void Save(string shard, ShardMeta meta, float[][] rows)
    {
        for (int a = 0; a < _arrays.Count; a++)
            Npy.Write($"{shard}.{_arrays[a].Name}.npy", [meta.Count, meta.Cells[_arrays[a].Name]], rows[a], _arrays[a].DType);
        Hashing.WriteAtomic(shard + ".json", JsonSerializer.Serialize(meta)); // written last: marks the shard complete
    }

    // One shard through the model: its records and, per array, its rows (count × cells, problem-major).
    private (ShardMeta Meta, float[][] Rows) Compute(
        IReadOnlyList<SampledProblem> problems, IReadOnlyList<CodiModel.Prompt> prompts, int start, int count)
    {
        var meta = new ShardMeta(start, count, batch, maxNewTokens, CellsByName(), []);
        var cells = _arrays.Select(a => meta.Cells[a.Name]).ToArray();
        var rows = cells.Select(c => new float[count * c]).ToArray();
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
                // A failed problem's rows hold each array's fill (the seed slot zero, the latent view NaN) and it is
                // flagged; non-finite attention is a failure too: it is never stored as if it were measured.
                for (int a = 0; a < _arrays.Count; a++) Array.Fill(rows[a], _arrays[a].FailedFill, j * cells[a], cells[a]);
                meta.Problems.Add(new ProblemRecord(i, p.Gsm8kId, p.Question.Length, false, error, 0, []));
                continue;
            }
            for (int a = 0; a < _arrays.Count; a++)
            {
                var row = _arrays[a].FromTrace(trace, _shape);
                if (row.Length != cells[a])
                    throw new InvalidOperationException($"array {_arrays[a].Name}: {row.Length} values for a row of {cells[a]}");
                row.CopyTo(rows[a], j * cells[a]);
            }
            meta.Problems.Add(new ProblemRecord(i, p.Gsm8kId, p.Question.Length, true, null, trace.InputIds.Count, [.. trace.LogitLensTop1],
                maxNewTokens > 0 ? Decode(trace.AnswerText, p.Answer) : null));
        }
        return (meta, rows);
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

    // Shown per shard: problems done of all, those resumed from the scratch folder (not counted in the rate), batch size.
    private void Progress(int done, int total, int resumed)
    {
        _work ??= (progress ?? new PlainProgress(log)).Start($"{logPrefix} extract", total, "problems");
        _work.Update(done, resumed, batch);
        if (done < total) return;
        _work.Complete();
        _work = null;
    }
}
