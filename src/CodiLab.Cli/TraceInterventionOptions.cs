using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using CodiLab.Models.Architectures;
using CodiLab.Models.Codi;
using CodiLab.Models.Interventions;

namespace CodiLab.Cli;

/// <summary>
/// The intervention options of <c>trace</c> (docs/interventions.md): parsed for syntax before the model loads, then
/// built into runtime interventions against the loaded model (labels expand with its number of thoughts; means and
/// donors are run on it). Every bad value is one paragraph and exit 2; an unreadable reference set exit 3.
/// </summary>
internal sealed class TraceInterventionOptions
{
    public Option<string[]> AblateHead { get; } = new("--ablate-head")
        { Description = "ablate heads L:H[,L:H…] at the input of the attention output projection (repeatable)" };

    public Option<string> AblateMode { get; } = new("--ablate-mode")
        { Description = "zero, or mean (each head's mean over --reference-set in the same scope)", DefaultValueFactory = _ => "zero" };

    public Option<string[]> AblateKv { get; } = new("--ablate-kv")
        { Description = "zero the keys (k) or values (v) of KV head G in layer L: L:G:k or L:G:v (repeatable)" };

    public Option<string> Scope { get; } = new("--scope")
        { Description = "passes the head and KV ablations cover: prompt, latent, answer or all", DefaultValueFactory = _ => "all" };

    public Option<string[]> BlockEdge { get; } = new("--block-edge")
    {
        Description = "block attention QUERY->KEY[@LAYERS[:HEADS]] by label (P0, question, BOT, z3, EOT, A1; z*->z*-1 …); "
            + "LAYERS and HEADS: all or lists like 0,2-3 (repeatable)",
    };

    public Option<string[]> ReplaceLatent { get; } = new("--replace-latent")
        { Description = "replace the thought fed at zK: zK=zero, zK=mean (over --reference-set) or zK=donor (repeatable)" };

    public Option<bool> HoldLater { get; } = new("--hold-later")
        { Description = "feed the thoughts after a replaced one their original values (default: recompute them)" };

    public Option<string[]> PatchResidual { get; } = new("--patch-residual")
    {
        Description = "overwrite the residual stream at the output of block LAYER at position POS with the donor's: "
            + "POS@LAYER (repeatable)",
    };

    public Option<string?> DonorQuestion { get; } = new("--donor-question")
        { Description = "the donor problem of --replace-latent zK=donor and --patch-residual" };

    public Option<string?> ReferenceSet { get; } = new("--reference-set")
    {
        Description = "questions for means (--ablate-mode mean, zK=mean): a text file with one question per line, "
            + "or JSONL with a \"question\" field per line",
    };

    public Option<string[]> Gold { get; } = new("--gold")
        { Description = "gold answer per --question (same order): also score 'The answer is: GOLD' + EOS teacher-forced" };

    public IEnumerable<Option> All =>
        [AblateHead, AblateMode, AblateKv, Scope, BlockEdge, ReplaceLatent, HoldLater, PatchResidual, DonorQuestion, ReferenceSet, Gold];

    /// <summary>The syntax-checked request (no model needed).</summary>
    public TraceInterventionRequest Parse(ParseResult parse)
    {
        var heads = (parse.GetValue(AblateHead) ?? []).SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries))
            .Select(v => Pair(v, "--ablate-head", "L:H (layer and head, from 0), e.g. 3:5")).ToList();
        // A head named twice would be applied and reported twice: say so rather than guess what was meant.
        if (heads.GroupBy(h => h).FirstOrDefault(g => g.Count() > 1) is { } repeated)
            throw Bad("--ablate-head", $"head {repeated.Key.A}:{repeated.Key.B} is named more than once", "name each head once");
        if ((parse.GetValue(Gold) ?? []).FirstOrDefault(string.IsNullOrWhiteSpace) is not null)
            throw Bad("--gold", "a --gold answer is empty", "give the gold answer as a number, e.g. --gold 18");
        var mode = parse.GetValue(AblateMode)!;
        if (mode is not ("zero" or "mean")) throw Bad("--ablate-mode", $"'{mode}' is not a mode", "use zero or mean");
        var scope = parse.GetValue(Scope)! switch
        {
            "prompt" => Models.Interventions.Scope.Prompt,
            "latent" => Models.Interventions.Scope.Latent,
            "answer" => Models.Interventions.Scope.Answer,
            "all" => Models.Interventions.Scope.All,
            var s => throw Bad("--scope", $"'{s}' is not a scope", "use prompt, latent, answer or all"),
        };
        var kv = (parse.GetValue(AblateKv) ?? []).Select(KvGroup).ToList();
        var edges = (parse.GetValue(BlockEdge) ?? []).Select(EdgeSpec.Parse).ToList();
        var latents = (parse.GetValue(ReplaceLatent) ?? []).Select(LatentSpec.Parse).ToList();
        var patches = (parse.GetValue(PatchResidual) ?? []).Select(PatchSpec.Parse).ToList();
        var request = new TraceInterventionRequest(heads, mode, scope, kv, edges, latents, parse.GetValue(HoldLater), patches,
            parse.GetValue(DonorQuestion), parse.GetValue(ReferenceSet), parse.GetValue(Gold) ?? []);
        request.CheckCombination();
        return request;
    }

    internal static CodiLabException Bad(string option, string what, string fix) =>
        new($"{what}.", option, fix + ".", ExitCodes.InvalidSpec);

    internal static (int A, int B) Pair(string value, string option, string form)
    {
        var parts = value.Split(':');
        if (parts.Length == 2 && Int(parts[0]) is { } a && Int(parts[1]) is { } b) return (a, b);
        throw Bad(option, $"'{value}' is not {form}", $"write {form}");
    }

    internal static int? Int(string text) =>
        int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;

    private static KvGroupAblation KvGroup(string value)
    {
        var parts = value.Split(':');
        if (parts.Length == 3 && Int(parts[0]) is { } layer && Int(parts[1]) is { } group && parts[2] is "k" or "v")
            return new KvGroupAblation(layer, group, parts[2] == "k" ? KvPart.Key : KvPart.Value);
        throw Bad("--ablate-kv", $"'{value}' is not L:G:k or L:G:v", "write the layer, the KV head and k or v, e.g. 3:1:v");
    }
}

/// <summary>One <c>--block-edge</c> value: the pattern and its layers and heads (null: all).</summary>
internal sealed record EdgeSpec(string Pattern, IReadOnlyList<int>? Layers, IReadOnlyList<int>? Heads)
{
    public static EdgeSpec Parse(string value)
    {
        var at = value.Split('@');
        if (at.Length > 2) throw Bad(value, "it has more than one '@'");
        IReadOnlyList<int>? layers = null, heads = null;
        if (at.Length == 2)
        {
            var sites = at[1].Split(':');
            if (sites.Length > 2) throw Bad(value, "the part after '@' is LAYERS or LAYERS:HEADS");
            layers = List(sites[0], value);
            if (sites.Length == 2) heads = List(sites[1], value);
        }
        // The labels are checked now, with a stand-in number of thoughts; the model's number expands them later.
        if (EdgePattern.Expand(at[0], 64).Error is { } error) throw Bad(value, error);
        return new EdgeSpec(at[0].Trim(), layers, heads);
    }

    // all, or numbers and ranges a-b separated by commas.
    private static List<int>? List(string text, string value)
    {
        if (text.Trim() == "all") return null;
        var list = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var range = part.Split('-');
            if (range.Length == 1 && TraceInterventionOptions.Int(range[0]) is { } single) list.Add(single);
            else if (range.Length == 2 && TraceInterventionOptions.Int(range[0]) is { } a
                && TraceInterventionOptions.Int(range[1]) is { } b && a <= b)
                list.AddRange(Enumerable.Range(a, b - a + 1));
            else throw Bad(value, $"'{part}' is not a number, a range a-b or all");
        }
        return list;
    }

    private static CodiLabException Bad(string value, string why) => TraceInterventionOptions.Bad("--block-edge",
        $"'{value}' is not QUERY->KEY[@LAYERS[:HEADS]]: {why}",
        "write e.g. z3->z1, z*->BOT@0-3, z*->z*-1@all:0,5 (labels P0, P3, question, BOT, z1.., EOT, A1..; z* and z*-m for every thought)");
}

/// <summary>One <c>--replace-latent</c> value: zK=zero|mean|donor.</summary>
internal sealed record LatentSpec(int K, string Source)
{
    public static LatentSpec Parse(string value)
    {
        var parts = value.Split('=', StringSplitOptions.TrimEntries);
        if (parts.Length == 2 && Position.TryParse(parts[0]) is { Kind: PositionKind.Latent } z && parts[1] is "zero" or "mean" or "donor")
            return new LatentSpec(z.Index, parts[1]);
        throw TraceInterventionOptions.Bad("--replace-latent", $"'{value}' is not zK=zero, zK=mean or zK=donor", "write e.g. z3=zero");
    }
}

/// <summary>One <c>--patch-residual</c> value: POS@LAYER.</summary>
internal sealed record PatchSpec(Position At, int Layer)
{
    public static PatchSpec Parse(string value)
    {
        var parts = value.Split('@', StringSplitOptions.TrimEntries);
        if (parts.Length == 2 && Position.TryParse(parts[0]) is { } at && at.Kind != PositionKind.Question
            && TraceInterventionOptions.Int(parts[1]) is { } layer)
            return new PatchSpec(at, layer);
        throw TraceInterventionOptions.Bad("--patch-residual", $"'{value}' is not POS@LAYER with one position",
            "write e.g. z3@2 (the output of block 2 at z3; positions P0, P3, BOT, z1.., EOT, A1..)");
    }
}

/// <summary>The parsed intervention options of one <c>trace</c>.</summary>
internal sealed record TraceInterventionRequest(
    IReadOnlyList<(int Layer, int Head)> Heads, string Mode, Scope Scope, IReadOnlyList<KvGroupAblation> Kv,
    IReadOnlyList<EdgeSpec> Edges, IReadOnlyList<LatentSpec> Latents, bool HoldLater, IReadOnlyList<PatchSpec> Patches,
    string? DonorQuestion, string? ReferenceSet, IReadOnlyList<string> Golds)
{
    private bool NeedsMeans => (Heads.Count > 0 && Mode == "mean") || Latents.Any(l => l.Source == "mean");

    private bool NeedsDonor => Patches.Count > 0 || Latents.Any(l => l.Source == "donor");

    /// <summary>Refuses options that need another one, or that nothing uses.</summary>
    public void CheckCombination()
    {
        if (NeedsMeans && ReferenceSet is null)
            throw TraceInterventionOptions.Bad("--reference-set", "means (--ablate-mode mean, zK=mean) need a reference set",
                "add --reference-set FILE (one question per line, or JSONL with \"question\")");
        if (!NeedsMeans && ReferenceSet is not null)
            throw TraceInterventionOptions.Bad("--reference-set", "the reference set is only used for means and nothing asks for one",
                "add --ablate-mode mean or zK=mean, or drop --reference-set");
        if (NeedsDonor && string.IsNullOrWhiteSpace(DonorQuestion))
            throw TraceInterventionOptions.Bad("--donor-question", "zK=donor and --patch-residual need a donor problem",
                "add --donor-question TEXT");
        if (!NeedsDonor && DonorQuestion is not null)
            throw TraceInterventionOptions.Bad("--donor-question", "the donor question is only used by zK=donor and --patch-residual",
                "add one of them, or drop --donor-question");
        if (Mode == "mean" && Heads.Count == 0)
            throw TraceInterventionOptions.Bad("--ablate-mode", "mean ablation needs heads to ablate", "add --ablate-head L:H");
        if (HoldLater && Latents.Count == 0)
            throw TraceInterventionOptions.Bad("--hold-later", "it applies to replaced thoughts and none is replaced",
                "add --replace-latent zK=…");
    }

    /// <summary>True when no intervention is asked for (the plain trace).</summary>
    public bool IsEmpty => Heads.Count == 0 && Kv.Count == 0 && Edges.Count == 0 && Latents.Count == 0 && Patches.Count == 0;

    /// <summary>The interventions against the loaded model; <paramref name="prompt"/> turns a question into its prompt.</summary>
    public IReadOnlyList<Intervention> Build(CodiModel model, Func<string, CodiModel.Prompt> prompt, int maxNewTokens)
    {
        var reference = NeedsMeans ? ReadReferenceSet(ReferenceSet!).Select(prompt).ToList() : [];
        var list = new List<Intervention>();
        if (Heads.Count > 0)
        {
            var means = Mode == "mean" ? HeadMeans.Compute(model, reference, Scope, batchSize: 8, maxNewTokens) : null;
            list.AddRange(Heads.Select(h => means?.Ablation(h.Layer, h.Head, Scope) ?? new HeadAblation(h.Layer, h.Head, Scope)));
        }
        list.AddRange(Kv.Select(k => k with { Scope = Scope }));
        foreach (var edge in Edges)
        {
            var (edges, error) = EdgePattern.Expand(edge.Pattern, model.NumLatent);
            if (error is not null) throw TraceInterventionOptions.Bad("--block-edge", error, $"the model has z1..z{model.NumLatent}");
            list.Add(new EdgeBlock(edges, edge.Layers, edge.Heads));
        }
        var donor = NeedsDonor
            ? model.TraceBatch([prompt(DonorQuestion!)], 0, [.. Patches.Select(p => new ResidualCapture(p.At, p.Layer))])[0]
            : null;
        var referenceTraces = Latents.Any(l => l.Source == "mean") ? model.TraceMany(reference, 8, 0) : null;
        var later = HoldLater ? LaterLatents.HoldFixed : LaterLatents.Recompute;
        foreach (var latent in Latents)
            list.Add(LatentReplacement(model, latent, donor, referenceTraces, later));
        foreach (var patch in Patches)
        {
            var key = new ResidualCapture(patch.At, patch.Layer).Key;
            if (donor!.Residuals?.GetValueOrDefault(key) is not { } value)
                throw TraceInterventionOptions.Bad("--patch-residual", $"the donor run never reached {patch.At} to read it",
                    "patch a prompt position, BOT, a thought or EOT");
            list.Add(new ResidualPatch(patch.At, patch.Layer, Replacement.Shared(value), $"donor \"{DonorQuestion}\""));
        }
        return list;
    }

    private LatentReplacement LatentReplacement(
        CodiModel model, LatentSpec latent, TraceResult? donor, IReadOnlyList<TraceResult?>? reference, LaterLatents later)
    {
        if (latent.K > model.NumLatent)
            throw TraceInterventionOptions.Bad("--replace-latent", $"z{latent.K} does not exist",
                $"the model feeds z1..z{model.NumLatent}");
        var k = latent.K;
        return latent.Source switch
        {
            "zero" => new LatentReplacement(k, Replacement.Zero, later, "zero"),
            "donor" => new LatentReplacement(k, Replacement.Shared(donor!.Latents![k - 1]), later, $"donor \"{DonorQuestion}\""),
            _ => new LatentReplacement(k, Replacement.Shared(Mean([.. reference!.OfType<TraceResult>().Select(t => t.Latents![k - 1])])),
                later, $"mean over {reference!.Count} reference prompts"),
        };
    }

    private static float[] Mean(IReadOnlyList<float[]> vectors) =>
        [.. Enumerable.Range(0, vectors[0].Length).Select(j => (float)vectors.Average(v => (double)v[j]))];

    // One question per non-blank line; a line starting with '{' is JSON with a "question" field (GSM8K JSONL).
    private static List<string> ReadReferenceSet(string path)
    {
        if (!File.Exists(path))
            throw new CodiLabException(
                Directory.Exists(path) ? "the reference set is a folder, not a file." : "the reference set does not exist.", path, "give a text file (one question per line) or JSONL.",
                ExitCodes.BadInput);
        var questions = new List<string>();
        var lines = File.ReadAllLines(path);
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0) continue;
            if (!line.StartsWith('{')) { questions.Add(line); continue; }
            try
            {
                using var doc = JsonDocument.Parse(line);
                questions.Add(doc.RootElement.GetProperty("question").GetString()!);
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new CodiLabException($"line {i + 1} is JSON without a string \"question\" field.", path,
                    "give one question per line, or JSON objects with \"question\".", ExitCodes.BadInput);
            }
        }
        if (questions.Count == 0)
            throw new CodiLabException("the reference set holds no question.", path, "add questions, one per line.", ExitCodes.BadInput);
        return questions;
    }
}
