using CodiLab.Analysis;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Stages;
using CodiLab.Reports;
using CodiLab.Specs;

namespace CodiLab.Pipeline.Features;

/// <summary>What a comparison depends on: both experiments' names, spec references and resolved fields (prefixed a/ and b/).</summary>
public sealed record CompareParameters(
    [property: SpecField("a")] string A, [property: SpecField("a.spec")] string AReference,
    [property: SpecField("b")] string B, [property: SpecField("b.spec")] string BReference, IReadOnlyList<ResolvedField> Fields)
{
    /// <summary>From two specs.</summary>
    public static CompareParameters From(ExperimentSpec a, ExperimentSpec b) => new(a.Name, a.Reference, b.Name, b.Reference,
        [
            .. a.Resolved().Select(f => f with { Path = "a/" + f.Path }),
            .. b.Resolved().Select(f => f with { Path = "b/" + f.Path }),
        ]);

    /// <summary>One side's resolved fields, unprefixed.</summary>
    public IReadOnlyList<ResolvedField> Side(string prefix) =>
        [
            .. Fields
                .Where(f => f.Path.StartsWith(prefix + "/", StringComparison.Ordinal))
                .Select(f => f with { Path = f.Path[(prefix.Length + 1)..] }),
        ];
}

/// <summary>
/// Compares two experiments (seed script 8, for any two specs): runs or reuses their Phase 1–2 stages, then runs the
/// <c>compare</c> stage through the same cache, whose view is <c>artifacts/compare/&lt;A&gt;-vs-&lt;B&gt;/</c>:
/// <c>compare.json</c> (params diff through <c>extends</c>, every summary value of both with deltas, the seed's
/// <c>model_comparison.json</c> fields), <c>compare.md</c> and side-by-side figures on one shared colour range, with its
/// own lock entry and provenance. Its inputs are both sides' files, hashed: it reruns only when either changes.
/// </summary>
public static class Comparison
{
    /// <summary>The folder of a pair.</summary>
    public static string Folder(PipelineEnvironment env, ExperimentSpec a, ExperimentSpec b) =>
        Path.Combine(env.ArtifactsRoot, "compare", $"{a.Name}-vs-{b.Name}");

    /// <summary>Runs the comparison; returns the folder and whether it was reused.</summary>
    public static (string Folder, bool Cached) Run(ExperimentSpec a, ExperimentSpec b, PipelineEnvironment env)
    {
        if (a.Name == b.Name)
            throw new CodiLabException($"both specs are named '{a.Name}'.", b.Reference,
                "compare two different experiments (give one of them another name).", ExitCodes.InvalidSpec);
        var runner = StageCatalog.Runner(env);
        foreach (var spec in new[] { a, b })
            foreach (var phase in new[] { Phase.Phase1, Phase.Phase2 }.Where(spec.Phases.Contains).Select(p => p.Word()))
                runner.Run(spec, phase);
        var folder = Folder(env, a, b);
        var stage = Stage.Create("compare", "Compare", 2, _ => CompareParameters.From(a, b),
            upstream: [], outputs: CompareFiles.All, execute: Execute,
            externals: (_, e) => [.. Inputs(a, "a", e), .. Inputs(b, "b", e)]);
        var outcome = runner.RunDerived($"{a.Name}-vs-{b.Name}", folder, $"{a.Reference} vs {b.Reference}", stage, a);
        return (folder, !outcome.Executed);
    }

    // Every file of one side that the comparison reads, hashed: the stage's external inputs.
    private static IEnumerable<ExternalInput> Inputs(ExperimentSpec spec, string side, PipelineEnvironment env)
    {
        var root = env.ExperimentRoot(spec.Name);
        string[] files =
        [
            Phase1Files.CanonicalSummary,
            Phase1Files.SeedAvg,
            Phase1Files.LatentAvg,
            Phase1Files.Metadata,
            Phase1Files.SeedSummary,
            Phase1Files.LatentSummary,
            Phase1Files.Evidence,
        ];
        foreach (var file in files)
        {
            var path = Path.Combine(root, "Phase1", file);
            if (!File.Exists(path))
                throw new CodiLabException($"{spec.Name} has no Phase 1 output {file}.", path,
                    $"run './build.sh --target=Phase1 --spec={spec.Reference}' first.", ExitCodes.BadInput);
            yield return new ExternalInput($"{side}/Phase1/{file}", Hashing.File(path).Sha256, path);
        }
        var phase2 = Path.Combine(root, "Phase2", Phase2Files.CanonicalSummary);
        if (spec.Phases.Contains(Phase.Phase2) && File.Exists(phase2))
            yield return new ExternalInput($"{side}/Phase2/{Phase2Files.CanonicalSummary}", Hashing.File(phase2).Sha256, phase2);
    }

    private static void Execute(StageContext ctx, CompareParameters p)
    {
        var sides = new[] { Side(ctx, p, "a", p.A, p.AReference), Side(ctx, p, "b", p.B, p.BReference) };
        var result = Comparisons.Build(sides[0], sides[1], ctx.Key);
        CompareFiles.Write(ctx.Output(CompareFiles.Json), result);
        foreach (var (file, png) in CompareFigures.Render(sides)) File.WriteAllBytes(ctx.Output(file), png);
        File.WriteAllText(ctx.Output(CompareFiles.Markdown), CompareReport.Render(result, sides));
    }

    private static CompareSide Side(StageContext ctx, CompareParameters p, string side, string name, string reference)
    {
        string P1(string file) => ctx.Externals[$"{side}/Phase1/{file}"].Path!;
        var leaves = new SortedDictionary<string, System.Text.Json.Nodes.JsonNode?>(StringComparer.Ordinal);
        var phase1 = CanonicalFiles.ReadPhase1(P1(Phase1Files.CanonicalSummary));
        Comparisons.Flatten("phase1.seed", phase1.Seed, leaves);
        Comparisons.Flatten("phase1.latent", phase1.Latent, leaves);
        var phase2 = ctx.Externals.TryGetValue($"{side}/Phase2/{Phase2Files.CanonicalSummary}", out var p2)
            ? CanonicalFiles.ReadPhase2(p2.Path!)
            : null;
        if (phase2 is not null) Comparisons.Flatten("phase2", phase2.Body, leaves);
        var spec = p.Side(side);
        var arch = SpecWords.Parse<Arch>(spec.Single(f => f.Path == "model.arch").Value);
        return new CompareSide(name, reference, arch, spec, Phase1Files.ReadMetadata(P1(Phase1Files.Metadata)), leaves,
            Phase1Files.ReadSeedSummary(P1(Phase1Files.SeedSummary)), phase2?.Seed, Npy.Read(P1(Phase1Files.SeedAvg)).Values,
            Npy.Read(P1(Phase1Files.LatentAvg)).Values, Phase1Files.ReadEvidence(P1(Phase1Files.Evidence)),
            Phase1Files.ReadLatentSummary(P1(Phase1Files.LatentSummary)));
    }
}
