using System.Text.Json;
using System.Text.Json.Serialization;
using CodiLab.Analysis;

namespace CodiLab.Pipeline.Artifacts;

/// <summary>The files Phase 4 stages write (besides the extract arrays, named as Phase 1 names them), and their reader.</summary>
public static class Phase4Files
{
    /// <summary>p4-sample: the full set, in the dataset JSON format of Phase 1 (the Phase 1 sample included).</summary>
    public const string Dataset = "phase4_dataset.json";

    /// <summary>p4-analyze: <see cref="Phase4Summary"/>.</summary>
    public const string Summary = "phase4_summary.json";

    /// <summary>p4-analyze: the summary's conclusions in canonical form (what pins hold).</summary>
    public const string CanonicalSummary = "phase4_summary.canonical.json";

    /// <summary>p4-analyze: one row per problem.</summary>
    public const string Problems = "phase4_problems.csv";

    /// <summary>p4-report.</summary>
    public const string Report = "phase4_report.md";

    /// <summary>p4-report.</summary>
    public const string ReportHtml = "phase4_report.html";

    /// <summary>snake_case names; NaN written as a literal (a metric of failed problems only), read back the same.</summary>
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes the summary and its canonical form.</summary>
    public static void Write(string summaryPath, string canonicalPath, Phase4Summary summary)
    {
        File.WriteAllText(summaryPath, JsonSerializer.Serialize(summary, Options));
        File.WriteAllText(canonicalPath, CanonicalJson.Text(JsonSerializer.SerializeToNode(summary.Canonical(), Options)!));
    }

    /// <summary>Reads the summary; one that does not parse is a corrupt artifact (exit 5).</summary>
    public static Phase4Summary Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<Phase4Summary>(File.ReadAllText(path), Options) ?? throw new JsonException("the file holds null");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NotSupportedException)
        {
            throw new CodiLabException($"the artifact {path} cannot be read as a Phase 4 summary ({e.Message}).", path,
                "run 'codilab verify' (it quarantines corrupt cache entries), then run the stage again.", ExitCodes.Corrupt, e);
        }
    }
}
