using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using CodiLab.Models;
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
public sealed record BenchOptions(int? Problems = null, int? BatchSize = null, string? ModelFolder = null, string? PeerLog = null);

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
    /// <summary>The peer's rate, when a peer log was given.</summary>
    [JsonPropertyName("peer_problems_per_s")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? PeerProblemsPerSecond { get; init; }

    /// <summary>This rate over the peer's.</summary>
    [JsonPropertyName("speedup_vs_peer")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? SpeedupVsPeer { get; init; }
}

/// <summary>
/// Times the extract stage's work (<see cref="ExtractionDriver"/>: the CODI loop with attention capture and both
/// conventions, no decoding) on a spec's sample, model load excluded and reported apart, after one warm-up batch;
/// writes <c>artifacts/&lt;experiment&gt;/bench.json</c>. Measures; asserts nothing.
/// </summary>
public static partial class Bench
{
    /// <summary>Runs the benchmark and returns what it wrote.</summary>
    public static BenchResult Run(ExperimentSpec spec, PipelineEnvironment env, BenchOptions options)
    {
        var folder = ModelFolder(spec, env, options);
        var problems = ExtractionDriver.ReadDataset(Path.Combine(env.ExperimentRoot(spec.Name), "Phase1", Phase1Files.Dataset));
        if (options.Problems is { } n) problems = [.. problems.Take(n)];
        var device = ModelSetup.Device(spec.Model.Device);
        var load = Stopwatch.StartNew();
        using var model = ModelSetup.Load(
            folder, null, spec.Model, spec.MarkOf("model.dtype").ToString(), folderSettings: options.ModelFolder is not null);
        load.Stop();
        // Tokenized before the clock starts, once, as the extract stage does before its loop.
        var prompts = ExtractionDriver.Prompts(model, problems);
        var tokens = prompts.Select(p => p.Ids.Count).ToList();
        var batch = options.BatchSize ?? ModelSetup.BatchSize(spec.Extraction.BatchSize, model, tokens.Max());
        var driver = new ExtractionDriver(model, batch, maxNewTokens: 0, TextWriter.Null, "");
        driver.Run([.. problems.Take(batch)], [.. prompts.Take(batch)], scratch: null); // warm-up
        Sync(device);
        var liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var clock = Stopwatch.StartNew();
        driver.Run(problems, prompts, scratch: null); // batches of similar length, as the extract stage forms them
        Sync(device);
        var seconds = clock.Elapsed.TotalSeconds;
        var config = model.Loaded.Config;
        var result = new BenchResult(
            spec.Name, folder, config.Arch, config.Layers, config.Hidden, device, DTypes.Name(model.Options.DType),
            torch.get_num_threads(), batch, problems.Count, Math.Round(tokens.Average(), 1),
            Math.Round(load.Elapsed.TotalSeconds, 3), Math.Round(seconds, 3),
            Math.Round(problems.Count / seconds, 2), Math.Round(tokens.Sum(t => t + model.NumLatent) / seconds, 1),
            Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0, 1),
            // TorchSharp 0.107 exposes no CUDA allocator statistics
            null,
            DisposeScopeManager.Statistics.ThreadTotalLiveCount - liveBefore,
            HarnessInfo.Harness.Commit, env.HarnessVersion,
            Environment.MachineName, Environment.ProcessorCount, DateTimeOffset.UtcNow.ToString("u", CultureInfo.InvariantCulture));
        if (options.PeerLog is { } peer) result = WithPeer(result, peer);
        Hashing.WriteAtomic(Path.Combine(env.ExperimentRoot(spec.Name), "bench.json"),
            System.Text.Json.JsonSerializer.Serialize(result, ArtifactJson.Options));
        return result;
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
