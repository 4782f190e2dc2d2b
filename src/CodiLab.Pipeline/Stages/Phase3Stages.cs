using CodiLab.Analysis;
using CodiLab.Models.Codi;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Data;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Extraction;
using CodiLab.Reports;
using CodiLab.Specs;

namespace CodiLab.Pipeline.Stages;

/// <summary>
/// Phase 3 (docs/experiment.md#phase-3-causal-interventions): the problem set, the baseline and every condition of the sweep
/// run by the official loop (each condition cached under its own key), the statistics, figures and the report.
/// </summary>
public static class Phase3Stages
{
    /// <summary>The stage names, in order.</summary>
    public static readonly string[] Names =
        ["interventions-sample", "interventions", "interventions-analyze", "interventions-figures", "interventions-report"];

    /// <summary>Every Phase 3 stage for a spec.</summary>
    public static IEnumerable<Stage> For(ExperimentSpec spec)
    {
        yield return Sample();
        yield return Run(spec);
        yield return Analyze();
        yield return Figures();
        yield return Report();
    }

    /// <summary>The problems: a seeded sample of the GSM8K split (or a synthetic held-out split), the same for every condition.</summary>
    public static Stage Sample() => Stage.Create("interventions-sample", "Phase3", 1, Phase3SampleParameters.From, upstream: [],
        outputs: [Phase3Files.Dataset], externals: ResolveDataset, execute: (ctx, p) =>
        {
            var synthetic = p.Source == DatasetSource.Synthetic;
            // A synthetic split of its own: generated from another stream of the seed than the Phase 1 set.
            var problems = synthetic ? SyntheticGsm8k.Generate(p.Seed + 1, p.Size) : Gsm8k.ReadJsonl(ctx.Externals["dataset"].Path!);
            if (p.Problems.OrNull > problems.Count)
                throw new CodiLabException($"cannot draw {p.Problems} Phase 3 problems from {problems.Count}.",
                    ctx.Where("interventions.problems"),
                    $"set interventions.problems to at most {problems.Count}, or to 'all'.", ExitCodes.InvalidSpec);
            var indices = Gsm8k.SampleIndices(p.Seed, problems.Count, p.Problems.OrNull);
            var split = synthetic ? $"synthetic_{p.Split.Word()}" : p.Split.Word();
            File.WriteAllText(ctx.Output(Phase3Files.Dataset), Gsm8k.DatasetJson(Gsm8k.Records(problems, indices, split)));
        });

    private static IReadOnlyList<ExternalInput> ResolveDataset(ExperimentSpec spec, PipelineEnvironment env)
    {
        if (spec.Dataset.IsSynthetic) return [];
        var split = spec.Interventions.Split.Word();
        var path = Path.GetFullPath(Path.Combine(env.DataRoot, "gsm8k", $"{split}.jsonl"));
        var where = spec.MarkOf("interventions.split").ToString();
        if (!File.Exists(path))
            throw new CodiLabException($"the Phase 3 problems file {path} does not exist (data root: {env.DataRoot}).", where,
                "download GSM8K with './build.sh --target=FetchData', or point CODILAB_DATA_DIR at a folder holding gsm8k/test.jsonl.",
                ExitCodes.BadInput);
        var actual = Gsm8k.Sha256(path);
        if (actual != SpecSchema.OfficialGsm8kSha256[split])
            throw new CodiLabException($"{path} has SHA-256 {actual}, not the official GSM8K {split} file's.", where,
                "restore the official file with './build.sh --target=FetchData'.", ExitCodes.BadInput);
        return [new ExternalInput("dataset", actual, path)];
    }

    /// <summary>The baseline and every condition, problem by problem.</summary>
    public static Stage Run(ExperimentSpec spec) => Stage.Create("interventions", "Phase3", 3, Phase3RunParameters.From,
        upstream: spec.Model.IsGenerated ? ["interventions-sample", "heads", "model"] : ["interventions-sample", "heads"],
        outputs: [Phase3Files.Conditions, Phase3Files.Runs, Phase3Files.Problems], externals: ModelStage.Resolve, execute: Execute);

    private static void Execute(StageContext ctx, Phase3RunParameters p)
    {
        var log = ctx.Environment.Log;
        var problems = ExtractionDriver.ReadDataset(ctx.Input("interventions-sample", Phase3Files.Dataset));
        var metric = Phase3Files.HeadMetric(ctx.UpstreamDirectories["heads"], p.HeadMetric);
        using var model = Load(ctx, p);
        var c = model.Loaded.Config;
        var shape = new Phase3Shape(c.Layers, c.Heads, c.KvHeads, model.NumLatent, p.Arch);
        var section = p.Section;
        var plan = Phase3Plan.Build(section, p.Seed, shape, metric);
        var donors = Phase3Plan.Donors(problems.Count, p.Seed);
        RefuseEmpty(ctx, plan, problems.Count, shape);
        var batch = ModelSetup.BatchSize(p.BatchSize, model, problems.Max(q => model.PromptIds(q.Question).Count));
        var driver = new InterventionDriver(model, problems, batch, p.MaxNewTokens, CommonKey(ctx, p, batch),
            new ArtifactCache(ctx.Environment.CacheRoot), log, $"[{ctx.Experiment}]");
        var (baseline, runs) = Sweep(ctx, driver, plan, section, donors, batch);
        log.WriteLine($"[{ctx.Experiment}] interventions: baseline + {plan.Count} conditions ({driver.Reused} read from the cache)");
        var ranking = Phase3Plan.Rank(metric);
        Phase3Files.Write(ctx.Output(Phase3Files.Conditions), new Phase3ConditionsFile(c.Layers, c.Heads, model.NumLatent, p.HeadMetric,
            ranking, [.. ranking.Select(h => metric[h])], donors, plan));
        var name = p.Source == ModelSource.Generated ? $"generated-{p.Arch.Word()}-seed{p.Seed}"
            : Path.GetFileName(Path.TrimEndingDirectorySeparator(ModelStage.FolderOf(ctx)));
        var split = problems.Count > 0 ? problems[0].Gsm8kId[..problems[0].Gsm8kId.LastIndexOf('_')] : "";
        var set = $"{problems.Count} problems of the {split} split (seeded sample, sorted)";
        var all = new Phase3Runs(name, set, p.MaxNewTokens, baseline, runs);
        Phase3Files.Write(ctx.Output(Phase3Files.Runs), all);
        File.WriteAllText(ctx.Output(Phase3Files.Problems), Phase3Files.ProblemsCsv(all));
    }

    private static CodiModel Load(StageContext ctx, Phase3RunParameters p)
    {
        using var loading = ctx.Environment.Progress.Start($"[{ctx.Experiment}] interventions: loading the model", 0, "");
        return ModelSetup.Load(ModelStage.FolderOf(ctx), ctx.Externals.TryGetValue("tokenizer", out var tok) ? tok.Path : null,
            p.Model, ctx.Where("model.dtype"), cacheRoot: ctx.Environment.CacheRoot);
    }

    // The baseline, then each condition in plan order, with progress counted in conditions (those read back from the cache
    // count as done but not in the rate).
    private static (ConditionRun Baseline, List<ConditionRun> Runs) Sweep(StageContext ctx, InterventionDriver driver,
        IReadOnlyList<Phase3Condition> plan, InterventionsSection section, int[] donors, int batch)
    {
        using var sweep = ctx.Environment.Progress.Start($"[{ctx.Experiment}] interventions", plan.Count + 1, "conditions");
        sweep.Update(0, batch: batch, detail: "baseline");
        var baseline = driver.Baseline();
        sweep.Update(1, driver.Reused, batch, plan.Count > 0 ? plan[0].Name : null);
        var runs = new List<ConditionRun>(plan.Count);
        for (int i = 0; i < plan.Count; i++)
        {
            runs.Add(driver.Run(plan[i], section, donors));
            sweep.Update(i + 2, driver.Reused, batch, i + 1 < plan.Count ? plan[i + 1].Name : null);
        }
        return (baseline, runs);
    }

    // A sweep that would run the baseline alone, or donor conditions with nobody to take the donor's values from, would
    // report "no effect" for what was never tested: refuse it before anything runs.
    private static void RefuseEmpty(StageContext ctx, IReadOnlyList<Phase3Condition> plan, int problems, Phase3Shape shape)
    {
        if (plan.Count == 0)
        {
            throw new CodiLabException("the Phase 3 sweep has no condition for this model: the selected families "
                + $"produce nothing here (kv_groups needs a LLaMA model with grouped KV heads; this one is {shape.Arch.Word()} "
                + $"with {shape.KvHeads} KV heads for {shape.Heads} query heads; an empty top_k gives no top_heads condition).",
                ctx.Where("interventions.families"), "add a family that applies to this model, or give top_k at least one k.",
                ExitCodes.InvalidSpec);
        }
        var donorBased = plan.Where(c => c.Kind == ConditionKind.ResidualPatch || (c.Mode?.StartsWith("donor", StringComparison.Ordinal) ?? false)).Select(c => c.Name).ToList();
        if (problems < 2 && donorBased.Count > 0)
        {
            throw new CodiLabException($"{donorBased.Count} conditions take values from a donor problem (e.g. {donorBased[0]}), "
                + $"but the Phase 3 problem set holds {problems} problem, so no problem has a donor.",
                ctx.Where("interventions.problems"), "set interventions.problems to 2 or more, or drop the patching family and the "
                + "'donor' replacement.", ExitCodes.InvalidSpec);
        }
    }

    // What every condition's key shares: the model (its cache entry or the checkpoint's hashes), the problem set's entry, the
    // loop's settings. The condition's own definition is added by the driver.
    private static string CommonKey(StageContext ctx, Phase3RunParameters p, int batch)
    {
        var model = ctx.UpstreamDirectories.TryGetValue("model", out var dir) ? "model:" + Path.GetFileName(dir)
            : string.Join(";", ctx.Externals.Values.OrderBy(x => x.Name, StringComparer.Ordinal).Select(x => $"{x.Name}:{x.Hash}"));
        var problems = "problems:" + Path.GetFileName(ctx.UpstreamDirectories["interventions-sample"]);
        return string.Join("\n", ctx.Environment.HarnessVersion, model, problems,
            $"lora {p.LoraR}/{SpecCanonical.Text(p.LoraAlpha)}", $"latents {p.NumLatent}", $"dtype {p.DType.Word()}",
            $"device {ModelSetup.Device(p.Device)}", $"batch {batch}", $"max_new_tokens {p.MaxNewTokens}");
    }

    /// <summary>The statistics: phase3_summary.json and its canonical form.</summary>
    public static Stage Analyze() => Stage.Create("interventions-analyze", "Phase3", 2, Phase3AnalyzeParameters.From,
        upstream: ["interventions"], outputs: [Phase3Files.Summary, Phase3Files.CanonicalSummary], execute: (ctx, p) =>
        {
            var plan = Phase3Files.Read<Phase3ConditionsFile>(ctx.Input("interventions", Phase3Files.Conditions));
            var runs = Phase3Files.Read<Phase3Runs>(ctx.Input("interventions", Phase3Files.Runs));
            var summary = Phase3Analysis.Summarize(new Phase3Input(runs.Model, runs.ProblemSet, runs.MaxNewTokens, plan.HeadMetric,
                p.Bootstrap, p.Seed, plan, runs.Baseline, runs.Conditions));
            Phase3Files.Write(ctx.Output(Phase3Files.Summary), summary);
            File.WriteAllText(ctx.Output(Phase3Files.CanonicalSummary), Phase3Files.Canonical(new Phase3Canonical(p.Name, summary)));
            foreach (var e in summary.HarnessErrors) ctx.Environment.Log.WriteLine($"[{ctx.Experiment}] HARNESS ERROR: {e}");
        });

    /// <summary>The figures.</summary>
    public static Stage Figures() => Stage.Create("interventions-figures", "Phase3", 1, NameParameters.From,
        upstream: ["interventions", "interventions-analyze"], outputs: Phase3Figures.Files, execute: (ctx, p) =>
        {
            var plan = Phase3Files.Read<Phase3ConditionsFile>(ctx.Input("interventions", Phase3Files.Conditions));
            var summary = Phase3Files.Read<Phase3Summary>(ctx.Input("interventions-analyze", Phase3Files.Summary));
            foreach (var (file, png) in Phase3Figures.Render(p.Name, summary, plan.Layers, plan.Heads, plan.Latents))
                File.WriteAllBytes(ctx.Output(file), png);
        });

    /// <summary>The report, Markdown and HTML.</summary>
    public static Stage Report() => Stage.Create("interventions-report", "Phase3", 2, NameParameters.From,
        upstream: ["interventions", "interventions-analyze", "interventions-figures"],
        outputs: [Phase3Report.Markdown, Phase3Report.HtmlFile],
        execute: (ctx, p) =>
        {
            var input = new Phase3ReportInput(p.Name,
                Phase3Files.Read<Phase3Summary>(ctx.Input("interventions-analyze", Phase3Files.Summary)),
                Phase3Files.Read<Phase3ConditionsFile>(ctx.Input("interventions", Phase3Files.Conditions)),
                Path.GetFileName(ctx.UpstreamDirectories["interventions"]),
                Path.GetFileName(ctx.UpstreamDirectories["interventions-figures"]));
            var markdown = Phase3Report.Render(input);
            File.WriteAllText(ctx.Output(Phase3Report.Markdown), markdown);
            File.WriteAllText(ctx.Output(Phase3Report.HtmlFile),
                Phase3Report.RenderHtml(markdown, p.Name, f => File.ReadAllBytes(ctx.Input("interventions-figures", f))));
        });
}
