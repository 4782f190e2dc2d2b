using System.Globalization;
using System.Text.Json.Nodes;
using CodiLab.Models.Architectures;

namespace CodiLab.Models.Interventions;

/// <summary>How an intervention is written down: one line of words, and the object the trace JSON records.</summary>
public static class InterventionText
{
    /// <summary>One line saying what the intervention does, where and when.</summary>
    public static string Describe(Intervention intervention) => intervention switch
    {
        HeadAblation h => $"head ablation L{h.Layer}H{h.Head} ({h.Mode}{(h.Source is null ? "" : ": " + h.Source)}) "
            + $"of the output projection's input, {Passes(h.Scope)}",
        KvGroupAblation g => $"KV-group ablation L{g.Layer} group {g.Group} ({g.Part.ToString().ToLowerInvariant()}s zeroed), {Passes(g.Scope)}",
        EdgeBlock e => $"edge blocking {string.Join(", ", e.Edges)} in {Names("layer", e.Layers)}, {Names("head", e.Heads)}",
        LatentReplacement l => $"latent replacement z{l.K} := {l.Source ?? l.With.ToString()}, later thoughts "
            + (l.Later == LaterLatents.Recompute ? "recomputed" : "held at their original values"),
        ResidualPatch p => $"residual patch at {p.At}, output of block {p.Layer} := {p.Source ?? p.With.ToString()}",
        ResidualCapture r => $"residual capture at {r.At}, output of block {r.Layer}",
        _ => intervention.GetType().Name,
    };

    /// <summary>The JSON record of an intervention: its kind, its sites and its words (vectors are not written).</summary>
    public static JsonObject ToJson(Intervention intervention)
    {
        var o = new JsonObject { ["kind"] = Kind(intervention) };
        switch (intervention)
        {
            case HeadAblation h:
                (o["layer"], o["head"], o["mode"], o["scope"]) = (h.Layer, h.Head, h.Mode, ScopeName(h.Scope));
                break;
            case KvGroupAblation g:
                (o["layer"], o["group"], o["part"], o["scope"]) = (g.Layer, g.Group, g.Part.ToString().ToLowerInvariant(), ScopeName(g.Scope));
                break;
            case EdgeBlock e:
                o["edges"] = new JsonArray([.. e.Edges.Select(x => (JsonNode)x.ToString())]);
                o["layers"] = e.Layers is null ? "all" : new JsonArray([.. e.Layers.Select(l => (JsonNode)l)]);
                o["heads"] = e.Heads is null ? "all" : new JsonArray([.. e.Heads.Select(h => (JsonNode)h)]);
                break;
            case LatentReplacement l:
                (o["latent"], o["with"], o["later"]) = ($"z{l.K}", l.Source ?? l.With.ToString(), l.Later.ToString().ToLowerInvariant());
                break;
            case ResidualPatch p:
                (o["position"], o["layer"], o["with"]) = (p.At.ToString(), p.Layer, p.Source ?? p.With.ToString());
                break;
            case ResidualCapture r:
                (o["position"], o["layer"]) = (r.At.ToString(), r.Layer);
                break;
        }
        o["text"] = Describe(intervention);
        return o;
    }

    /// <summary>prompt, latent, answer, all, or a combination joined by '+'.</summary>
    public static string ScopeName(Scope scope) => scope == Scope.All ? "all"
        : string.Join('+', new[] { Scope.Prompt, Scope.Latent, Scope.Answer }.Where(s => scope.HasFlag(s))
            .Select(s => s.ToString().ToLowerInvariant()));

    private static string Kind(Intervention intervention) => intervention switch
    {
        HeadAblation => "head_ablation",
        KvGroupAblation => "kv_group_ablation",
        EdgeBlock => "edge_block",
        LatentReplacement => "latent_replacement",
        ResidualPatch => "residual_patch",
        ResidualCapture => "residual_capture",
        _ => intervention.GetType().Name,
    };

    private static string Passes(Scope scope) => scope == Scope.All ? "in every pass" : $"in {ScopeName(scope)} passes";

    private static string Names(string what, IReadOnlyList<int>? values) => values is null ? $"every {what}"
        : $"{what}s {string.Join(',', values.Select(v => v.ToString(CultureInfo.InvariantCulture)))}";
}
