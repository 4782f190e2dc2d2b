using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;
using CodiLab.Specs;

namespace CodiLab.Pipeline.Stages;

/// <summary>
/// Phase 1, stage 1 (seed script 1): load GSM8K (or generate the synthetic set), draw the sample exactly as
/// CPython's <c>random.sample</c> with the seed, sort it, and write the seed's dataset JSON byte for byte.
/// </summary>
public static class SampleStage
{
    /// <summary>The stage value.</summary>
    public static readonly Stage Definition = Stage.Create(
        "sample", "Phase1", 1, SampleParameters.From, upstream: [], outputs: [Phase1Files.Dataset],
        execute: Run, externals: ResolveDataset);

    /// <summary>The JSONL file a gsm8k spec reads: data root + dataset.path.</summary>
    public static string DatasetPath(ExperimentSpec spec, PipelineEnvironment env)
    {
        var d = spec.Dataset;
        return d.FullPath ?? Path.GetFullPath(Path.Combine(env.DataRoot, d.Path!));
    }

    /// <summary>The dataset file a gsm8k spec reads, checked and hashed (none for a synthetic set).</summary>
    public static IReadOnlyList<ExternalInput> ResolveDataset(ExperimentSpec spec, PipelineEnvironment env)
    {
        if (spec.Dataset.IsSynthetic) return [];
        var path = DatasetPath(spec, env);
        if (!File.Exists(path))
            throw new CodiLabException($"the dataset file {path} does not exist (data root: {env.DataRoot}).",
                spec.MarkOf("dataset.path").ToString(),
                "point CODILAB_DATA_DIR at a folder holding gsm8k/train.jsonl and gsm8k/test.jsonl, "
                + "or download them with './build.sh --target=FetchData'.",
                ExitCodes.BadInput);
        var actual = Gsm8k.Sha256(path);
        var expected = spec.Dataset.Sha256;
        if (expected is not null && actual != expected)
            throw new CodiLabException($"the dataset file {path} has SHA-256 {actual}, but the spec expects {expected}.",
                spec.MarkOf("dataset.sha256").ToString(),
                "restore the official file (./build.sh --target=FetchData), "
                + "or, if you changed the data on purpose, set dataset.sha256 to the new hash.",
                ExitCodes.BadInput);
        return [new ExternalInput("dataset", actual, path)];
    }

    private static void Run(StageContext ctx, SampleParameters d)
    {
        var synthetic = d.Source == DatasetSource.Synthetic;
        var problems = synthetic
            ? SyntheticGsm8k.Generate(d.Seed, d.Size)
            : Gsm8k.ReadJsonl(ctx.Externals["dataset"].Path!);
        long? k = d.Sample.OrNull;
        if (k > problems.Count)
            throw new CodiLabException($"cannot sample {k} problems from {problems.Count}.", ctx.Where("dataset.sample"),
                $"set dataset.sample to at most {problems.Count}, or to 'all'.", ExitCodes.InvalidSpec);
        var indices = Gsm8k.SampleIndices(d.Seed, problems.Count, k);
        var split = synthetic ? "synthetic" : d.Split.Word();
        var records = Gsm8k.Records(problems, indices, split);
        Validate(records);
        File.WriteAllText(ctx.Output(Phase1Files.Dataset), Gsm8k.DatasetJson(records));
    }

    // The seed's own checks (docs/experiment.md#the-dataset-json): unique ids, non-empty questions and answers.
    private static void Validate(IReadOnlyList<DatasetRecord> records)
    {
        if (records.Select(r => r.Gsm8kId).Distinct().Count() != records.Count)
            throw new InvalidDataException("sampled ids are not unique");
        var empty = records.FirstOrDefault(r => string.IsNullOrWhiteSpace(r.Question) || string.IsNullOrWhiteSpace(r.Answer));
        if (empty is not null)
        {
            throw new CodiLabException($"problem {empty.Gsm8kId} has an empty question or answer.", null,
                "check the dataset file; every record needs both.", ExitCodes.BadInput);
        }
    }
}
