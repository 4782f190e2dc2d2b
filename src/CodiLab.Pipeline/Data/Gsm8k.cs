using System.Security.Cryptography;
using System.Text.Json;

namespace CodiLab.Pipeline.Data;

/// <summary>One GSM8K problem as the JSONL holds it.</summary>
public sealed record Gsm8kProblem(string Question, string Answer);

/// <summary>One sampled problem in the seed's dataset JSON (docs/experiment.md#the-dataset-json), keys in the seed's order.</summary>
public sealed record DatasetRecord(string Gsm8kId, string Question, string Answer, string FullSolution)
{
    /// <summary>The record as an ordered object for <see cref="PyJson"/>.</summary>
    public IEnumerable<KeyValuePair<string, object?>> ToPyObject() =>
    [
        new("gsm8k_id", Gsm8kId), new("question", Question), new("answer", Answer), new("full_solution", FullSolution),
    ];
}

/// <summary>Reads GSM8K JSONL files and checks their hashes.</summary>
public static class Gsm8k
{
    /// <summary>Where the official files can be downloaded (openai/grade-school-math, MIT licence).</summary>
    public const string OfficialUrlBase = "https://raw.githubusercontent.com/openai/grade-school-math/master/grade_school_math/data/";

    /// <summary>SHA-256 of a file, lowercase hex.</summary>
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>Reads a JSONL file of {question, answer} objects; a broken line is an error naming file:line.</summary>
    public static IReadOnlyList<Gsm8kProblem> ReadJsonl(string path)
    {
        var problems = new List<Gsm8kProblem>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (line.Length == 0) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var q = doc.RootElement.GetProperty("question").GetString();
                var a = doc.RootElement.GetProperty("answer").GetString();
                if (q is null || a is null) throw new InvalidDataException("question and answer must be strings");
                problems.Add(new Gsm8kProblem(q, a));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or InvalidDataException)
            {
                throw new CodiLabException($"line {lineNo} is not a GSM8K record ({e.Message}).", $"{path}:{lineNo}",
                    "each line must be one JSON object with string fields \"question\" and \"answer\"; "
                    + "restore the file (./build.sh --target=FetchData) or fix that line.",
                    ExitCodes.BadInput, e);
            }
        }
        return problems;
    }

    /// <summary>The final answer as the seed extracts it: text after the last '####', trimmed.</summary>
    public static string FinalAnswer(string solution)
    {
        var at = solution.LastIndexOf("####", StringComparison.Ordinal);
        return (at < 0 ? solution : solution[(at + 4)..]).Trim();
    }

    /// <summary>
    /// Draws problem indices as the seed did: <c>random.seed(seed); random.sample(range(n), k)</c>, then sorted.
    /// A null <paramref name="k"/> ('all') takes every index in file order.
    /// </summary>
    public static long[] SampleIndices(long seed, int n, long? k)
    {
        if (k is null) return Enumerable.Range(0, n).Select(i => (long)i).ToArray();
        var draw = new PyRandom((ulong)seed).Sample(n, checked((int)k.Value));
        Array.Sort(draw);
        return draw;
    }

    /// <summary>Builds the seed's dataset records for the chosen indices.</summary>
    public static IReadOnlyList<DatasetRecord> Records(IReadOnlyList<Gsm8kProblem> problems, IEnumerable<long> indices, string split) =>
        indices
            .Select(i => new DatasetRecord(
                $"{split}_{i}", problems[(int)i].Question, FinalAnswer(problems[(int)i].Answer), problems[(int)i].Answer))
            .ToList();

    /// <summary>The seed's dataset JSON text.</summary>
    public static string DatasetJson(IEnumerable<DatasetRecord> records) => PyJson.Dump(records.Select(r => r.ToPyObject()).ToList());
}
