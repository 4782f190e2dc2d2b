using System.Text.Json;
using System.Text.Json.Nodes;
using CodiLab.Analysis;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;
using CodiLab.Reports;
using CodiLab.Specs;

namespace CodiLab.Pipeline.Stages;

/// <summary>
/// Compares two experiments (seed script 8, for any two specs): runs or reuses their Phase 1–2 stages, then writes
/// <c>artifacts/compare/&lt;A&gt;-vs-&lt;B&gt;/</c>: <c>compare.json</c> (params diff through <c>extends</c>, every
/// summary value of both with deltas, the seed's <c>model_comparison.json</c> fields), <c>compare.md</c> and
/// side-by-side figures on one shared colour range. Cached: reran only when either side's artifacts change.
/// </summary>
public static class Comparison
{
    /// <summary>Bump when the comparison's output changes.</summary>
    public const int Version = 1;

    /// <summary>The folder of a pair.</summary>
    public static string Folder(PipelineEnvironment env, ExperimentSpec a, ExperimentSpec b) => Path.Combine(env.ArtifactsRoot, "compare", $"{a.Name}-vs-{b.Name}");

    /// <summary>Runs the comparison; returns the folder and whether it was reused.</summary>
    public static (string Folder, bool Cached) Run(ExperimentSpec a, ExperimentSpec b, PipelineEnvironment env)
    {
        if (a.Name == b.Name)
            throw new CodiLabException($"both specs are named '{a.Name}'.", b.Reference, "compare two different experiments (give one of them another name).", ExitCodes.InvalidSpec);
        var runner = StageCatalog.Runner(env);
        foreach (var spec in new[] { a, b })
            foreach (var phase in new[] { Phase.Phase1, Phase.Phase2 }.Where(spec.Phases.Contains).Select(p => p.Word()))
                runner.Run(spec, phase);
        var (sideA, fingerprintA) = ReadSide(a, env);
        var (sideB, fingerprintB) = ReadSide(b, env);
        var folder = Folder(env, a, b);
        var key = Hashing.Sha256(string.Join("\n", new[] { $"compare v{Version}", env.HarnessVersion, fingerprintA, fingerprintB }));
        var jsonPath = Path.Combine(folder, CompareFiles.Json);
        if (File.Exists(jsonPath) && StoredKey(jsonPath) == key && CompareFiles.All.All(f => File.Exists(Path.Combine(folder, f))))
        {
            env.Log.WriteLine($"[compare] {a.Name} vs {b.Name}: cached ({key[..12]})");
            return (folder, true);
        }
        // Write into a temporary sibling, then swap, so an interrupted comparison leaves the old one whole.
        var temp = folder + ".tmp-" + Environment.ProcessId;
        if (Directory.Exists(temp)) Directory.Delete(temp, true);
        Directory.CreateDirectory(Path.Combine(temp, "figures"));
        var result = Comparisons.Build(sideA, sideB, key);
        CompareFiles.Write(Path.Combine(temp, CompareFiles.Json), result);
        foreach (var (file, png) in CompareFigures.Render([sideA, sideB])) File.WriteAllBytes(Path.Combine(temp, file), png);
        File.WriteAllText(Path.Combine(temp, CompareFiles.Markdown), CompareReport.Render(result, [sideA, sideB]));
        if (Directory.Exists(folder)) Directory.Delete(folder, true);
        Directory.CreateDirectory(Path.GetDirectoryName(folder)!);
        Directory.Move(temp, folder);
        env.Log.WriteLine($"[compare] {a.Name} vs {b.Name}: wrote {Path.GetRelativePath(Directory.GetCurrentDirectory(), folder)} ({key[..12]})");
        return (folder, false);
    }

    private static string? StoredKey(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.TryGetProperty("key", out var k) ? k.GetString() : null;
    }

    // One experiment's artifacts from its views, and a fingerprint of the spec and every file read.
    private static (CompareSide Side, string Fingerprint) ReadSide(ExperimentSpec spec, PipelineEnvironment env)
    {
        string P1(string f) => Path.Combine(env.ExperimentRoot(spec.Name), "Phase1", f);
        var p2 = Path.Combine(env.ExperimentRoot(spec.Name), "Phase2", Phase2Files.CanonicalSummary);
        var hasPhase2 = File.Exists(p2);
        string[] files = [P1(Phase1Files.CanonicalSummary), P1(Phase1Files.SeedAvg), P1(Phase1Files.LatentAvg), P1(Phase1Files.Metadata), .. hasPhase2 ? new[] { p2 } : []];
        var fingerprint = spec.Name + " " + string.Join(" ", spec.Resolved().OrderBy(f => f.Path, StringComparer.Ordinal).Select(f => $"{f.Path}={f.Value}"))
            + " " + string.Join(" ", files.Select(f => Hashing.File(f).Sha256));
        var leaves = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal);
        var phase1 = CanonicalFiles.ReadPhase1(P1(Phase1Files.CanonicalSummary));
        Comparisons.Flatten("phase1.seed", phase1.Seed, leaves);
        Comparisons.Flatten("phase1.latent", phase1.Latent, leaves);
        var phase2 = hasPhase2 ? CanonicalFiles.ReadPhase2(p2) : null;
        if (phase2 is not null) Comparisons.Flatten("phase2", phase2.Body, leaves);
        var side = new CompareSide(spec.Name, spec.Reference, spec.Model.Arch, spec.Resolved(), Phase1Files.ReadMetadata(P1(Phase1Files.Metadata)), leaves,
            Phase1Files.ReadSeedSummary(P1(Phase1Files.SeedSummary)), phase2?.Seed, Npy.Read(P1(Phase1Files.SeedAvg)).Values,
            Npy.Read(P1(Phase1Files.LatentAvg)).Values);
        return (side, fingerprint);
    }
}
