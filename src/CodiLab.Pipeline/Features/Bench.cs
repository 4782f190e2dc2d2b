using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using CodiLab.Models;
using CodiLab.Models.Codi;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Extraction;
using CodiLab.Pipeline.Stages;
using CodiLab.Specs;
using TorchSharp;

namespace CodiLab.Pipeline.Features;

/// <summary>What to time.</summary>
/// <param name="Problems">How many sampled problems (null: all of the sample).</param>
/// <param name="BatchSize">Overrides extraction.batch_size.</param>
/// <param name="ModelFolder">Times this model folder instead of the spec's model (e.g. a full-size folder written for benchmarks).</param>
/// <param name="PeerLog">A file holding a peer's "PEER … problems_per_s=X" line, to print the ratio.</param>
public sealed record BenchOptions(int? Problems = null, int? BatchSize = null, string? ModelFolder = null, string? PeerLog = null)
{
    /// <summary>Several problem counts to time with one model load (overrides <see cref="Problems"/>).</summary>
    public IReadOnlyList<int>? ProblemCounts { get; init; }

    /// <summary>Several batch sizes to time with one model load (overrides <see cref="BatchSize"/>).</summary>
    public IReadOnlyList<int>? BatchSizes { get; init; }

    /// <summary>Overrides model.dtype (float32 or bfloat16).</summary>
    public string? DType { get; init; }

    /// <summary>Overrides model.device (cpu, cuda or auto).</summary>
    public string? Device { get; init; }
}

/// <summary><c>bench.json</c>: one timed extraction and the machine it ran on.</summary>
public sealed record BenchResult(
    [property: JsonPropertyName("experiment")] string Experiment,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("arch")] string Arch,
    [property: JsonPropertyName("layers")] int Layers,
    [property: JsonPropertyName("hidden")] int Hidden,
    [property: JsonPropertyName("device")] string Device,
    [property: JsonPropertyName("dtype")] string DType,
    [property: JsonPropertyName("threads")] int Threads,
    [property: JsonPropertyName("batch_size")] int BatchSize,
    [property: JsonPropertyName("problems")] int Problems,
    [property: JsonPropertyName("mean_prompt_tokens")] double MeanPromptTokens,
    [property: JsonPropertyName("load_seconds")] double LoadSeconds,
    [property: JsonPropertyName("extract_seconds")] double ExtractSeconds,
    [property: JsonPropertyName("problems_per_s")] double ProblemsPerSecond,
    [property: JsonPropertyName("tokens_per_s")] double TokensPerSecond,
    [property: JsonPropertyName("peak_host_memory_mb")] double PeakHostMemoryMb,
    [property: JsonPropertyName("peak_device_memory_mb")] double? PeakDeviceMemoryMb,
    [property: JsonPropertyName("live_tensor_growth")] long LiveTensorGrowth,
    [property: JsonPropertyName("commit")] string? Commit,
    [property: JsonPropertyName("harness")] string Harness,
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("cpu_count")] int CpuCount,
    [property: JsonPropertyName("measured_at")] string MeasuredAt)
{
    /// <summary>Host facts read around the timed section (load average, CPU time split, allocator settings).</summary>
    [JsonPropertyName("host_state")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public BenchHostState? HostState { get; init; }

    /// <summary>
    /// Prompt positions computed over prompt tokens: the batches are left-padded to their longest prompt, so a batch of
    /// prompts of unequal length computes more positions than it has tokens (1 = no padding; attention grows with the square).
    /// </summary>
    [JsonPropertyName("padded_prompt_ratio")]
    public double PaddedPromptRatio { get; init; }

    /// <summary>Peak resident memory after the model load, before any extraction (MiB).</summary>
    [JsonPropertyName("load_peak_host_memory_mb")]
    public double LoadPeakHostMemoryMb { get; init; }

    /// <summary>The loaded model's shape (not written).</summary>
    [JsonIgnore]
    public CodiLab.Models.Architectures.ModelConfig? Config { get; init; }

    /// <summary>The peer's rate, when a peer log was given.</summary>
    [JsonPropertyName("peer_problems_per_s")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? PeerProblemsPerSecond { get; init; }

    /// <summary>This rate over the peer's.</summary>
    [JsonPropertyName("speedup_vs_peer")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? SpeedupVsPeer { get; init; }
}

/// <summary>Host facts around one timed run.</summary>
/// <param name="LoadAverageBefore">1-minute load average as the clock started (the box may be shared).</param>
/// <param name="LoadAverageAfter">The same as the clock stopped.</param>
/// <param name="UserSeconds">User CPU seconds the process spent in the timed section.</param>
/// <param name="KernelSeconds">Kernel CPU seconds in it (page faults, mostly).</param>
/// <param name="Malloc">The glibc allocator variables the process ran with.</param>
/// <param name="Allocator">What <see cref="AllocatorPolicy"/> set.</param>
public sealed record BenchHostState(
    [property: JsonPropertyName("load_average_before")] double? LoadAverageBefore,
    [property: JsonPropertyName("load_average_after")] double? LoadAverageAfter,
    [property: JsonPropertyName("user_cpu_s")] double UserSeconds,
    [property: JsonPropertyName("kernel_cpu_s")] double KernelSeconds,
    [property: JsonPropertyName("malloc")] IReadOnlyList<string> Malloc,
    [property: JsonPropertyName("allocator")] string Allocator);

/// <summary>
/// Times the extract stage's work (<see cref="ExtractionDriver"/>: the CODI loop with attention capture and both
/// conventions, no decoding) on a spec's sample, model load excluded and reported apart, after one warm-up batch;
/// writes <c>artifacts/&lt;experiment&gt;/bench.json</c>. Measures; asserts nothing.
/// </summary>
public static partial class Bench
{
    /// <summary>Runs the benchmark and returns what it wrote (the last run when several were asked for).</summary>
    public static BenchResult Run(ExperimentSpec spec, PipelineEnvironment env, BenchOptions options) => Sweep(spec, env, options)[^1];

    /// <summary>
    /// Loads the model once and times every (problem count, batch size) pair asked for, in order; writes
    /// <c>bench.json</c> (the last run) and, for more than one run, <c>bench-sweep.json</c> (all of them).
    /// </summary>
    public static IReadOnlyList<BenchResult> Sweep(ExperimentSpec spec, PipelineEnvironment env, BenchOptions options)
    {
        var section = ModelOverrides(spec.Model, options);
        var folder = ModelFolder(spec, env, options);
        var all = ExtractionDriver.ReadDataset(Path.Combine(env.ExperimentRoot(spec.Name), "Phase1", Phase1Files.Dataset));
        var device = ModelSetup.Device(section.Device);
        var load = Stopwatch.StartNew();
        using var model = ModelSetup.Load(
            folder, null, section, spec.MarkOf("model.dtype").ToString(), folderSettings: options.ModelFolder is not null,
            cacheRoot: env.CacheRoot);
        load.Stop();
        var loadPeak = HostProbe.PeakResidentMb();
        // Tokenized before the clock starts, once, as the extract stage does before its loop.
        var allPrompts = ExtractionDriver.Prompts(model, all);
        var counts = options.ProblemCounts ?? [options.Problems ?? all.Count];
        var sizes = options.BatchSizes
            ?? [options.BatchSize ?? ModelSetup.BatchSize(spec.Extraction.BatchSize, model, allPrompts.Max(p => p.Ids.Count))];
        var results = new List<BenchResult>();
        foreach (var batch in sizes)
            foreach (var n in counts)
            {
                var result = Time(model, device, batch, [.. all.Take(n)], [.. allPrompts.Take(n)]);
                result = Describe(result, spec, env, folder, load.Elapsed.TotalSeconds, loadPeak);
                if (options.PeerLog is { } peer) result = WithPeer(result, peer);
                env.Log.WriteLine(System.FormattableString.Invariant(
                    $"bench: N={result.Problems} batch={batch} {result.ProblemsPerSecond} problems/s, peak {result.PeakHostMemoryMb} MB"));
                results.Add(result);
            }
        var root = env.ExperimentRoot(spec.Name);
        Hashing.WriteAtomic(Path.Combine(root, "bench.json"), System.Text.Json.JsonSerializer.Serialize(results[^1], ArtifactJson.Options));
        if (results.Count > 1)
            Hashing.WriteAtomic(
                Path.Combine(root, "bench-sweep.json"), System.Text.Json.JsonSerializer.Serialize(results, ArtifactJson.Options));
        return results;
    }

    // One timed extraction of these problems at this batch size, after a warm-up batch; the peak is this run's own.
    private static BenchResult Time(
        CodiModel model, string device, int batch, List<SampledProblem> problems, List<CodiModel.Prompt> prompts)
    {
        var driver = new ExtractionDriver(model, batch, maxNewTokens: 0, TextWriter.Null, "");
        driver.Run([.. problems.Take(batch)], [.. prompts.Take(batch)], scratch: null); // warm-up
        Sync(device);
        HostProbe.ResetPeak();
        var loadAverage = HostProbe.LoadAverage();
        var (user, kernel) = HostProbe.CpuSeconds();
        var liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var clock = Stopwatch.StartNew();
        driver.Run(problems, prompts, scratch: null); // batches of similar length, as the extract stage forms them
        Sync(device);
        var seconds = clock.Elapsed.TotalSeconds;
        var (user2, kernel2) = HostProbe.CpuSeconds();
        var tokens = prompts.Select(p => p.Ids.Count).ToList();
        var state = new BenchHostState(loadAverage, HostProbe.LoadAverage(), Math.Round(user2 - user, 2), Math.Round(kernel2 - kernel, 2),
            HostProbe.MallocSettings(), AllocatorPolicy.State);
        return new BenchResult("", "", "", 0, 0, device, DTypes.Name(model.Options.DType),
            torch.get_num_threads(), batch, problems.Count, Math.Round(tokens.Average(), 1),
            0, Math.Round(seconds, 3),
            Math.Round(problems.Count / seconds, 2), Math.Round(tokens.Sum(t => t + model.NumLatent) / seconds, 1),
            HostProbe.PeakResidentMb(),
            // TorchSharp 0.107 exposes no CUDA allocator statistics
            null,
            DisposeScopeManager.Statistics.ThreadTotalLiveCount - liveBefore,
            HarnessInfo.Harness.Commit, "", Environment.MachineName, Environment.ProcessorCount,
            DateTimeOffset.UtcNow.ToString("u", CultureInfo.InvariantCulture))
        {
            HostState = state, Config = model.Loaded.Config, PaddedPromptRatio = PaddedRatio(tokens, batch),
        };
    }

    /// <summary>
    /// Positions over tokens when prompts of these lengths run as the extraction driver batches them: shards of
    /// <see cref="ExtractionDriver.ShardSizeFor"/>, each cut into <see cref="CodiModel.Batches"/>.
    /// </summary>
    public static double PaddedRatio(IReadOnlyList<int> lengths, int batch)
    {
        var shard = ExtractionDriver.ShardSizeFor(batch);
        long positions = 0;
        for (int start = 0; start < lengths.Count; start += shard)
        {
            int[] part = [.. lengths.Skip(start).Take(shard)];
            foreach (var b in CodiModel.Batches(part, batch)) positions += (long)b.Length * b.Max(i => part[i]);
        }
        return lengths.Count == 0 ? 1 : Math.Round((double)positions / lengths.Sum(), 3);
    }

    private static BenchResult Describe(
        BenchResult r, ExperimentSpec spec, PipelineEnvironment env, string folder, double load, double loadPeak)
    {
        var config = r.Config!;
        return r with
        {
            Experiment = spec.Name, Model = folder, Arch = config.Arch, Layers = config.Layers, Hidden = config.Hidden,
            LoadSeconds = Math.Round(load, 3), Harness = env.HarnessVersion, LoadPeakHostMemoryMb = loadPeak,
        };
    }

    // --dtype / --device given on the command line replace the spec's model section's.
    private static ModelSection ModelOverrides(ModelSection model, BenchOptions options)
    {
        if (options.DType is { } dtype)
            model = model with { DType = dtype is "bf16" or "bfloat16" ? ComputeDType.Bfloat16 : ComputeDType.Float32 };
        if (options.Device is { } device) model = model with { Device = SpecWords.Parse<DeviceChoice>(device) };
        return model;
    }

    // The model folder to time: the one given, the generated model (run through the cache), or the spec's checkpoint.
    private static string ModelFolder(ExperimentSpec spec, PipelineEnvironment env, BenchOptions options)
    {
        var runner = StageCatalog.Runner(env);
        runner.Run(spec, stageName: "sample");
        if (options.ModelFolder is { } given) return given;
        if (!spec.Model.IsGenerated) return ModelStage.Resolve(spec, env)[0].Path!;
        runner.Run(spec, stageName: "model");
        return Path.Combine(env.ExperimentRoot(spec.Name), "Phase1", ModelStage.Folder);
    }

    private static BenchResult WithPeer(BenchResult result, string peer)
    {
        var match = PeerPattern().Match(File.ReadAllText(peer));
        if (!match.Success)
        {
            throw new CodiLabException("the peer log has no 'PEER … problems_per_s=X' line.", peer,
                "give the output of the peer's --time run.", ExitCodes.BadInput);
        }
        var peerRate = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return result with { PeerProblemsPerSecond = peerRate, SpeedupVsPeer = Math.Round(result.ProblemsPerSecond / peerRate, 2) };
    }

    private static void Sync(string device)
    {
        if (device == "cuda") torch.cuda.synchronize();
    }

    [GeneratedRegex(@"PEER .*problems_per_s=([0-9.]+)")]
    private static partial Regex PeerPattern();
}
