using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CodiLab.Models;
using CodiLab.Models.Codi;
using CodiLab.Analysis;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Extraction;
using CodiLab.Specs;
using TorchSharp;

namespace CodiLab.Pipeline.Stages;

/// <summary>What to time.</summary>
/// <param name="Problems">How many sampled problems (null: all of the sample).</param>
/// <param name="BatchSize">Overrides extraction.batch_size.</param>
/// <param name="ModelFolder">Times this model folder instead of the spec's model (e.g. one written by codi_reference.py --preset full).</param>
/// <param name="PeerLog">A file holding the reference script's "PEER … problems_per_s=X" line, to print the ratio.</param>
public sealed record BenchOptions(int? Problems = null, int? BatchSize = null, string? ModelFolder = null, string? PeerLog = null);

/// <summary>
/// Times the extract stage's work (the CODI loop with attention capture and both conventions, no decoding) on a
/// spec's sample, model load excluded and reported apart, after one warm-up batch; writes
/// <c>artifacts/&lt;experiment&gt;/bench.json</c>. Measures; asserts nothing.
/// </summary>
public static partial class Bench
{
    /// <summary>Runs the benchmark and returns what it wrote.</summary>
    public static JsonObject Run(ExperimentSpec spec, PipelineEnvironment env, BenchOptions options)
    {
        var runner = StageCatalog.Runner(env);
        runner.Run(spec, stageName: "sample");
        var folder = options.ModelFolder;
        if (folder is null && spec.Model.IsGenerated)
        {
            runner.Run(spec, stageName: "model");
            folder = Path.Combine(env.ExperimentRoot(spec.Name), "Phase1", ModelStage.Folder);
        }
        folder ??= ModelStage.Resolve(spec, env)[0].Path!;
        var problems = ExtractionDriver.ReadDataset(Path.Combine(env.ExperimentRoot(spec.Name), "Phase1", Phase1Files.Dataset));
        if (options.Problems is { } n) problems = [.. problems.Take(n)];
        var device = ModelSetup.Device(spec.Model.Device);
        var load = Stopwatch.StartNew();
        using var model = ModelSetup.Load(folder, null, spec.Model, spec.MarkOf("model.dtype").ToString(), folderSettings: options.ModelFolder is not null);
        load.Stop();
        var prompts = problems.Select(p => new CodiModel.Prompt(p.Question, model.PromptIdsAsGiven(p.Question))).ToList();
        var batch = options.BatchSize ?? ModelSetup.BatchSize(spec.Extraction.BatchSize, model, prompts.Max(p => p.Ids.Count));
        void Extract(IReadOnlyList<CodiModel.Prompt> part)
        {
            foreach (var trace in model.TraceMany(part, batch, maxNewTokens: 0))
            {
                TraceConventions.Seed(trace!);
                TraceConventions.Latent(trace!, model.NumLatent);
            }
        }
        Extract([.. prompts.Take(batch)]); // warm-up
        Sync(device);
        var liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var clock = Stopwatch.StartNew();
        Extract(prompts); // batches of similar length, as the extract stage forms them
        Sync(device);
        clock.Stop();
        var seconds = clock.Elapsed.TotalSeconds;
        var tokens = prompts.Sum(p => p.Ids.Count + model.NumLatent);
        var result = new JsonObject
        {
            ["experiment"] = spec.Name,
            ["model"] = folder,
            ["arch"] = model.Loaded.Config.Arch,
            ["layers"] = model.Loaded.Config.Layers,
            ["hidden"] = model.Loaded.Config.Hidden,
            ["device"] = device,
            ["dtype"] = DTypes.Name(model.Options.DType),
            ["threads"] = torch.get_num_threads(),
            ["batch_size"] = batch,
            ["problems"] = prompts.Count,
            ["mean_prompt_tokens"] = Math.Round(prompts.Average(p => p.Ids.Count), 1),
            ["load_seconds"] = Math.Round(load.Elapsed.TotalSeconds, 3),
            ["extract_seconds"] = Math.Round(seconds, 3),
            ["problems_per_s"] = Math.Round(prompts.Count / seconds, 2),
            ["tokens_per_s"] = Math.Round(tokens / seconds, 1),
            ["peak_host_memory_mb"] = Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0, 1),
            ["peak_device_memory_mb"] = null, // TorchSharp 0.107 exposes no CUDA allocator statistics
            ["live_tensor_growth"] = DisposeScopeManager.Statistics.ThreadTotalLiveCount - liveBefore,
            ["commit"] = HarnessInfo.GitCommit(Directory.GetCurrentDirectory()),
            ["harness"] = env.HarnessVersion,
            ["host"] = Environment.MachineName,
            ["cpu_count"] = Environment.ProcessorCount,
            ["measured_at"] = DateTimeOffset.UtcNow.ToString("u", CultureInfo.InvariantCulture),
        };
        if (options.PeerLog is { } peer)
        {
            var match = PeerPattern().Match(File.ReadAllText(peer));
            if (!match.Success)
                throw new CodiLabException("the peer log has no 'PEER … problems_per_s=X' line.", peer, "give the output of codi_reference.py --time N.", ExitCodes.BadInput);
            var peerRate = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            result["peer_problems_per_s"] = peerRate;
            result["speedup_vs_peer"] = Math.Round(prompts.Count / seconds / peerRate, 2);
        }
        Hashing.WriteAtomic(Path.Combine(env.ExperimentRoot(spec.Name), "bench.json"), result.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return result;
    }

    private static void Sync(string device)
    {
        if (device == "cuda") torch.cuda.synchronize();
    }

    [GeneratedRegex(@"PEER .*problems_per_s=([0-9.]+)")]
    private static partial Regex PeerPattern();
}
