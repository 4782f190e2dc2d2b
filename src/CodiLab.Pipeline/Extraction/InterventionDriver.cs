using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using CodiLab.Analysis;
using CodiLab.Models.Architectures;
using CodiLab.Models.Codi;
using CodiLab.Models.Interventions;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Engine;
using CodiLab.Specs;
using RuntimeLater = CodiLab.Models.Interventions.LaterLatents;
using RuntimeLatent = CodiLab.Models.Interventions.LatentReplacement;

namespace CodiLab.Pipeline.Extraction;

/// <summary>
/// Runs the Phase 3 baseline and every condition over the same problems with the official loop, one condition at a time,
/// each cached under a key of its own: the run's common material (harness, model, problems, loop settings) and the
/// condition's resolved definition. A condition already computed with the same key is read back, not run again, so
/// changing one condition of a spec recomputes that condition only. Donor and mean material (the baseline's thoughts and
/// residuals, head means) is computed only when a condition that needs it has to run.
/// </summary>
public sealed class InterventionDriver
{
    /// <summary>Bump when what a condition's run produces changes.</summary>
    public const int Version = 2;

    private const string RunFile = "run.json";
    private static readonly Stage EntryStage = new("interventions-condition", "Phase3", Version, _ => new object(), [], [RunFile],
        Stage.NoExternals, _ => { });

    private readonly CodiModel _model;
    private readonly IReadOnlyList<CodiModel.Prompt> _prompts;
    private readonly IReadOnlyList<SampledProblem> _problems;
    private readonly int _batch, _maxNewTokens;
    private readonly string _common;
    private readonly ArtifactCache _cache;
    private readonly TextWriter _log;
    private readonly string _prefix;
    private Material? _material;

    /// <summary>A driver over one loaded model and problem set.</summary>
    /// <param name="model">The loaded model.</param>
    /// <param name="problems">The Phase 3 problems (gold answers after <c>####</c>).</param>
    /// <param name="batch">Batch size.</param>
    /// <param name="maxNewTokens">Decode limit.</param>
    /// <param name="common">Key material shared by every condition (model identity, problem set, loop settings).</param>
    /// <param name="cache">The artifact cache the condition entries live in.</param>
    /// <param name="log">Progress.</param>
    /// <param name="prefix">Log prefix.</param>
    public InterventionDriver(CodiModel model, IReadOnlyList<SampledProblem> problems, int batch, int maxNewTokens, string common,
        ArtifactCache cache, TextWriter log, string prefix)
    {
        (_model, _problems, _batch, _maxNewTokens, _common, _cache, _log, _prefix) =
            (model, problems, batch, maxNewTokens, common, cache, log, prefix);
        // The official evaluation's prompt: the question normalised once (strip, "  " → " "), then BOT; gold for the log-prob.
        _prompts = [.. problems.Select(p => new CodiModel.Prompt(p.Question, model.PromptIds(p.Question), Gold: p.Answer))];
    }

    /// <summary>How many conditions were read from the cache rather than run (logged; not part of any output).</summary>
    public int Reused { get; private set; }

    /// <summary>The baseline: the same loop, no intervention.</summary>
    public ConditionRun Baseline() => Cached("baseline", "{}", () => []);

    /// <summary>One condition's run.</summary>
    public ConditionRun Run(Phase3Condition condition, InterventionsSection section, int[] donors) =>
        Cached(condition.Name, JsonSerializer.Serialize(condition, Phase3Files.Options), () => Interventions(condition, section, donors));

    private ConditionRun Cached(string name, string definition, Func<IReadOnlyList<Intervention>> interventions)
    {
        var key = Hashing.Sha256($"{_common}\ncondition-v{Version}\n{definition}");
        if (_cache.TryOpen(key) is not null && _cache.Check(key, out _) is null)
        {
            Reused++;
            return Phase3Files.Read<ConditionRun>(Path.Combine(_cache.EntryPath(key), RunFile)) with { Condition = name };
        }
        var clock = Stopwatch.StartNew();
        var list = interventions();
        var failures = new Dictionary<string, string>(StringComparer.Ordinal);
        var traces = _model.TraceMany(_prompts, _batch, _maxNewTokens, list, (p, e) => failures[p.Question] = e.Message);
        var run = new ConditionRun(name,
            [.. _problems.Select((p, i) => Outcome(p, traces[i], failures.GetValueOrDefault(p.Question)))]);
        var temp = _cache.NewTempFolder();
        Phase3Files.Write(Path.Combine(temp, RunFile), run);
        _cache.Commit(temp, key, EntryStage, replace: true);
        _log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{_prefix} interventions: {name}: {run.Problems.Count(x => x.Correct)}/{run.Problems.Count} correct, "
            + $"{run.Problems.Count(x => x.Failed)} failed, {clock.Elapsed.TotalSeconds:0.00} s"));
        return run;
    }

    /// <summary>One problem's outcome: the official parser (last number, commas removed) against the gold after ####.</summary>
    public static ProblemOutcome Outcome(SampledProblem p, TraceResult? trace, string? error)
    {
        var problem = trace is null ? error ?? "the CODI loop failed on this problem" : NonFinite(trace);
        if (problem is not null) return new ProblemOutcome(p.Gsm8kId, p.Answer, null, false, true, problem, null, trace?.AnswerText);
        var predicted = CodiModel.ParseAnswer(trace!.AnswerText);
        var gold = double.TryParse(p.Answer.Replace(",", "", StringComparison.Ordinal).Trim(), NumberStyles.Float,
            CultureInfo.InvariantCulture, out var g) ? g : (double?)null;
        return new ProblemOutcome(p.Gsm8kId, p.Answer, predicted?.ToString("R", CultureInfo.InvariantCulture),
            predicted is { } v && gold == v, false, null, trace.GoldLogProb, trace.AnswerText);
    }

    private static string? NonFinite(TraceResult trace)
    {
        for (int z = 0; z < trace.LatentNorms.Count; z++)
            if (!float.IsFinite(trace.LatentNorms[z])) return $"non-finite latent z{z + 1}";
        return trace.GoldLogProb is { } lp && double.IsNaN(lp) ? "the gold log-probability is NaN" : null;
    }

    private List<Intervention> Interventions(Phase3Condition c, InterventionsSection s, int[] donors)
    {
        var scope = s.Scope switch { InterventionScope.Latent => Scope.Latent, InterventionScope.Answer => Scope.Answer, _ => Scope.All };
        switch (c.Kind)
        {
            case ConditionKind.HeadAblation:
                var means = s.Ablation == AblationMode.Mean ? Need().HeadMeans(_model, _prompts, scope, _batch, _maxNewTokens) : null;
                return [.. c.Heads.Select(h => means is null ? new HeadAblation(h.Layer, h.Head, scope) : means.Ablation(h.Layer, h.Head, scope))];
            case ConditionKind.KvAblation:
                return [.. c.Heads.Select(h => new KvGroupAblation(h.Layer, h.Head, KvPart.Value, scope))];
            case ConditionKind.EdgeBlock:
                return [new EdgeBlock([.. c.Edges.Select(e => new Edge(Position.Latent(e.Query), Key(e.Key)))])];
            case ConditionKind.LatentReplace:
                var k = c.Latent!.Value;
                var later = c.Mode!.EndsWith("/fixed", StringComparison.Ordinal) ? RuntimeLater.HoldFixed : RuntimeLater.Recompute;
                var mode = c.Mode.Split('/')[0];
                var with = mode switch
                {
                    "zero" => Replacement.Zero,
                    "mean" => Replacement.Shared(Need().LatentMean(k)),
                    _ => Replacement.PerRow(Need().DonorLatents(k, donors)),
                };
                return [new RuntimeLatent(k, with, later, mode)];
            case ConditionKind.ResidualPatch:
                var at = Position.Latent(c.Latent!.Value);
                return [new ResidualPatch(at, c.Layer!.Value, Replacement.PerRow(Need().DonorResiduals(at, c.Layer.Value, donors)), "donor")];
            default:
                throw new NotSupportedException($"condition kind {c.Kind}");
        }
    }

    private static Position Key(string label) => Position.TryParse(label)
        ?? throw new InvalidOperationException($"the edge key '{label}' is not a position label");

    // The baseline's thoughts and every (latent position, layer) residual, traced once, when a condition first needs them.
    private Material Need()
    {
        if (_material is not null) return _material;
        var c = _model.Loaded.Config;
        List<Intervention> probes = [.. Enumerable.Range(1, _model.NumLatent)
            .SelectMany(k => Enumerable.Range(0, c.Layers).Select(l => (Intervention)new ResidualCapture(Position.Latent(k), l)))];
        _log.WriteLine($"{_prefix} interventions: tracing the baseline's thoughts and residuals (donor and mean material)");
        var traces = _model.TraceMany([.. _prompts.Select(p => p with { Gold = null })], _batch, 0, probes);
        return _material = new Material(traces);
    }

    private sealed class Material(IReadOnlyList<TraceResult?> traces)
    {
        private HeadMeanTable? _means;

        public HeadMeanTable HeadMeans(CodiModel model, IReadOnlyList<CodiModel.Prompt> prompts, Scope scope, int batch, int decode) =>
            _means ??= Models.Interventions.HeadMeans.Compute(model, prompts, scope, batch, decode);

        public float[] LatentMean(int k)
        {
            var rows = traces.Where(t => t?.Latents is not null).Select(t => t!.Latents![k - 1]).ToList();
            var mean = new float[rows[0].Length];
            foreach (var r in rows)
                for (int i = 0; i < mean.Length; i++) mean[i] += r[i] / rows.Count;
            return mean;
        }

        public IReadOnlyList<float[]?> DonorLatents(int k, int[] donors) =>
            [.. donors.Select(d => d >= 0 ? traces[d]?.Latents?[k - 1] : null)];

        public IReadOnlyList<float[]?> DonorResiduals(Position at, int layer, int[] donors) =>
            [.. donors.Select(d => d >= 0 ? traces[d]?.Residuals?.GetValueOrDefault($"{at}@{layer}") : null)];
    }
}
