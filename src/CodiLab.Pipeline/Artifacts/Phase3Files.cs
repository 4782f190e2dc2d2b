using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using CodiLab.Analysis;

namespace CodiLab.Pipeline.Artifacts;

/// <summary>The files Phase 3 stages write: their names, one reader per file read downstream, and the problems table.</summary>
public static class Phase3Files
{
    /// <summary>The Phase 3 problem set, in the dataset JSON format of Phase 1.</summary>
    public const string Dataset = "phase3_dataset.json";

    /// <summary><see cref="Phase3ConditionsFile"/>: the resolved sweep.</summary>
    public const string Conditions = "phase3_conditions.json";

    /// <summary>Every run (baseline first), problem by problem: <see cref="Phase3Runs"/>.</summary>
    public const string Runs = "phase3_runs.json";

    /// <summary>Problem × condition → prediction, correct, failure, gold log-prob.</summary>
    public const string Problems = "phase3_problems.csv";

    /// <summary><see cref="Phase3Summary"/>.</summary>
    public const string Summary = "phase3_summary.json";

    /// <summary>The summary in canonical form (what pins hold).</summary>
    public const string CanonicalSummary = "phase3_summary.canonical.json";

    /// <summary>NaN and infinities as JSON literals (a failed problem's log-probability); everything else as artifacts are.</summary>
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes a Phase 3 record.</summary>
    public static void Write<T>(string path, T value) => File.WriteAllText(path, JsonSerializer.Serialize(value, Options));

    /// <summary>Reads a Phase 3 record; a file that does not parse is a corrupt artifact (exit 5).</summary>
    public static T Read<T>(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Options) ?? throw new JsonException("the file holds null");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NotSupportedException)
        {
            throw new CodiLabException($"the artifact {path} cannot be read as {typeof(T).Name} ({e.Message}).", path,
                "run 'codilab verify' (it quarantines corrupt cache entries), then run the stage again.", ExitCodes.Corrupt, e);
        }
    }

    /// <summary>The canonical text of the summary (sorted keys, 4 decimals, NaN as null), as pins hold it.</summary>
    public static string Canonical(Phase3Canonical value) => CanonicalJson.Text(JsonSerializer.SerializeToNode(value, Options)!);

    /// <summary>phase3_problems.csv: one row per problem and condition (baseline first), in problem order.</summary>
    public static string ProblemsCsv(Phase3Runs runs)
    {
        var csv = new StringBuilder("problem,condition,gold,prediction,correct,failed,gold_logprob,error\n");
        foreach (var run in runs.All)
            foreach (var p in run.Problems)
                csv.Append(CultureInfo.InvariantCulture, $"{Cell(p.Id)},{Cell(run.Condition)},{Cell(p.Gold)},{Cell(p.Prediction ?? "")},")
                    .Append(p.Correct ? "true" : "false").Append(',').Append(p.Failed ? "true" : "false").Append(',')
                    .Append(p.GoldLogProb is { } lp ? lp.ToString("R", CultureInfo.InvariantCulture) : "").Append(',')
                    .Append(Cell(p.Error ?? "")).Append('\n');
        return csv.ToString();
    }

    /// <summary>
    /// A per-head metric of the Phase 2 <c>heads</c> stage: the latent view's from <c>latent_heads.csv</c> (<c>skip</c> is the
    /// mean of its skip curve), the seed's (<c>seed_*</c>) from <c>ranked_heads.csv</c>.
    /// </summary>
    public static Dictionary<HeadRef, double> HeadMetric(string headsFolder, string metric)
    {
        var seed = metric.StartsWith("seed_", StringComparison.Ordinal);
        var path = Path.Combine(headsFolder, seed ? Phase2Files.RankedHeads : Phase2Files.LatentHeads);
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
        var header = lines[0].Split(',');
        int Column(string name) => Array.IndexOf(header, name) is var i and >= 0 ? i
            : throw new CodiLabException($"{path} has no column '{name}' for the head metric '{metric}'.", path,
                "rerun Phase 2 (its heads stage), or pick another interventions.head_metric.", ExitCodes.Corrupt);
        int[] columns = seed ? [Column(metric["seed_".Length..] + "_score")]
            : metric == "skip" ? [.. header.Select((h, i) => (h, i)).Where(t => t.h.StartsWith("skip_d", StringComparison.Ordinal)
                && !t.h.EndsWith("_std", StringComparison.Ordinal)).Select(t => t.i)]
            : [Column(metric switch { "hub_p0" => "hub_P0", "hub_bot" => "hub_BOT", _ => metric })];
        var result = new Dictionary<HeadRef, double>();
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            var values = columns.Select(c => double.Parse(cells[c], CultureInfo.InvariantCulture)).ToList();
            result[new HeadRef(int.Parse(cells[0], CultureInfo.InvariantCulture), int.Parse(cells[1], CultureInfo.InvariantCulture))] =
                values.Count == 0 ? double.NaN : values.Average();
        }
        return result;
    }

    // RFC 4180: quote a cell holding a comma, quote or line break, doubling its quotes.
    private static string Cell(string text) =>
        text.IndexOfAny([',', '"', '\n', '\r']) < 0 ? text : "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}

/// <summary><c>phase3_runs.json</c>: the baseline and every condition's run, problem by problem.</summary>
public sealed record Phase3Runs(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("problem_set")] string ProblemSet,
    [property: JsonPropertyName("max_new_tokens")] int MaxNewTokens,
    [property: JsonPropertyName("baseline")] ConditionRun Baseline,
    [property: JsonPropertyName("conditions")] IReadOnlyList<ConditionRun> Conditions)
{
    /// <summary>The baseline, then the conditions.</summary>
    [JsonIgnore]
    public IEnumerable<ConditionRun> All => Conditions.Prepend(Baseline);
}
