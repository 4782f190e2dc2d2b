using System.Globalization;
using System.Text;
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

    /// <summary>Output files.</summary>
    public static readonly string[] Files = ["compare.json", "compare.md", "figures/seed_head_mean.png", "figures/latent_head_mean.png", "figures/hub_flow_skip.png"];

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
        var sides = new[] { Side.Read(a, env), Side.Read(b, env) };
        var folder = Folder(env, a, b);
        var key = Hashing.Sha256(string.Join("\n", new[] { $"compare v{Version}", env.HarnessVersion }.Concat(sides.Select(s => s.Fingerprint))));
        var jsonPath = Path.Combine(folder, "compare.json");
        if (File.Exists(jsonPath) && JsonNode.Parse(File.ReadAllText(jsonPath))?["key"]?.GetValue<string>() == key && Files.All(f => File.Exists(Path.Combine(folder, f))))
        {
            env.Log.WriteLine($"[compare] {a.Name} vs {b.Name}: cached ({key[..12]})");
            return (folder, true);
        }
        // Write into a temporary sibling, then swap, so an interrupted comparison leaves the old one whole.
        var temp = folder + ".tmp-" + Environment.ProcessId;
        if (Directory.Exists(temp)) Directory.Delete(temp, true);
        Directory.CreateDirectory(Path.Combine(temp, "figures"));
        var json = Json(a, b, sides, key);
        Phase1Stages.WriteJson(Path.Combine(temp, "compare.json"), json);
        WriteFigures(temp, sides);
        File.WriteAllText(Path.Combine(temp, "compare.md"), Markdown(json, sides));
        if (Directory.Exists(folder)) Directory.Delete(folder, true);
        Directory.CreateDirectory(Path.GetDirectoryName(folder)!);
        Directory.Move(temp, folder);
        env.Log.WriteLine($"[compare] {a.Name} vs {b.Name}: wrote {Path.GetRelativePath(Directory.GetCurrentDirectory(), folder)} ({key[..12]})");
        return (folder, false);
    }

    // One experiment's artifacts.
    private sealed record Side(ExperimentSpec Spec, ExtractMetadata Info, JsonNode Phase1, JsonNode? Phase2, JsonNode SeedSummary, float[] SeedAvg, float[] LatentAvg, string Fingerprint)
    {
        public string Name => Spec.Name;

        public static Side Read(ExperimentSpec spec, PipelineEnvironment env)
        {
            string P1(string f) => Path.Combine(env.ExperimentRoot(spec.Name), "Phase1", f);
            var p2 = Path.Combine(env.ExperimentRoot(spec.Name), "Phase2", Phase2Stages.CanonicalSummary);
            string[] files = [P1(Phase1Files.CanonicalSummary), P1(Phase1Files.SeedAvg), P1(Phase1Files.LatentAvg), P1(Phase1Files.Metadata), .. File.Exists(p2) ? new[] { p2 } : []];
            var fingerprint = spec.Name + " " + string.Join(" ", spec.Resolved().OrderBy(f => f.Path, StringComparer.Ordinal).Select(f => $"{f.Path}={f.Value}"))
                + " " + string.Join(" ", files.Select(f => Hashing.File(f).Sha256));
            return new Side(spec, Phase1Files.ReadMetadata(P1(Phase1Files.Metadata)), JsonNode.Parse(File.ReadAllText(P1(Phase1Files.CanonicalSummary)))!,
                File.Exists(p2) ? JsonNode.Parse(File.ReadAllText(p2)) : null, JsonNode.Parse(File.ReadAllText(P1(Phase1Files.SeedSummary)))!,
                Npy.Read(P1(Phase1Files.SeedAvg)).Values, Npy.Read(P1(Phase1Files.LatentAvg)).Values, fingerprint);
        }

        // Every leaf of the canonical summaries: path -> value.
        public SortedDictionary<string, JsonNode?> Leaves()
        {
            var result = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal);
            Flatten("phase1.seed", Phase1["seed"], result);
            Flatten("phase1.latent", Phase1["latent"], result);
            if (Phase2 is not null) Flatten("phase2", Phase2["phase2"], result);
            return result;
        }

        // Head mean of the seed [6, 6] and the latent [K+1, K+3] averages.
        public double[,] HeadMean(float[] avg, int rows, int cols)
        {
            var heads = Info.Layers * Info.Heads;
            var m = new double[rows, cols];
            for (int hd = 0; hd < heads; hd++)
                for (int i = 0; i < rows; i++)
                    for (int j = 0; j < cols; j++) m[i, j] += avg[(hd * rows + i) * cols + j] / heads;
            return m;
        }
    }

    private static void Flatten(string path, JsonNode? node, IDictionary<string, JsonNode?> into)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o) Flatten($"{path}.{k}", v, into);
                break;
            case JsonArray arr:
                for (int i = 0; i < arr.Count; i++) Flatten($"{path}[{i}]", arr[i], into);
                break;
            default:
                into[path] = node?.DeepClone();
                break;
        }
    }


    private static JsonObject Json(ExperimentSpec a, ExperimentSpec b, Side[] sides, string key)
    {
        var (fa, fb) = (a.Resolved().ToDictionary(f => f.Path, f => f.Value), b.Resolved().ToDictionary(f => f.Path, f => f.Value));
        var parameters = new JsonArray([.. fa.Keys.Order(StringComparer.Ordinal)
            .Where(p => p != "name" && fa[p] != fb[p])
            .Select(p => (JsonNode)new JsonObject { ["field"] = p, [a.Name] = fa[p], [b.Name] = fb[p] })]);
        var (la, lb) = (sides[0].Leaves(), sides[1].Leaves());
        var metrics = new JsonArray();
        foreach (var path in la.Keys.Union(lb.Keys).Order(StringComparer.Ordinal))
        {
            var (va, vb) = (la.GetValueOrDefault(path), lb.GetValueOrDefault(path));
            var row = new JsonObject { ["metric"] = path, [a.Name] = va?.DeepClone(), [b.Name] = vb?.DeepClone() };
            if (CanonicalJson.NumberOf(va) is { } x && CanonicalJson.NumberOf(vb) is { } y) row["delta"] = Math.Round(y - x, CanonicalJson.Decimals);
            metrics.Add(row);
        }
        return new JsonObject
        {
            ["key"] = key,
            ["a"] = a.Name,
            ["b"] = b.Name,
            ["specs"] = new JsonObject { [a.Name] = a.Reference, [b.Name] = b.Reference },
            ["params_diff"] = parameters,
            ["metrics"] = metrics,
            ["model_comparison"] = ModelComparison(sides),
        };
    }

    // The seed's model_comparison.json fields (docs/experiment.md#model-comparison), keyed by experiment name.
    private static JsonObject ModelComparison(Side[] sides)
    {
        JsonObject PerSide(Func<Side, JsonNode?> f) => new(sides.Select(s => KeyValuePair.Create(s.Name, f(s))));
        JsonNode? Top(Side s) => s.Phase2?["phase2"]?["seed"]?["top_heads"]?[0]?.DeepClone();
        return new JsonObject
        {
            ["models"] = PerSide(s => new JsonObject
            {
                ["model_size"] = $"{s.Spec.Model.Arch.Word()} {s.Info.Layers}L x {s.Info.Heads}H", ["n_layers"] = s.Info.Layers, ["n_heads"] = s.Info.Heads, ["total_heads"] = s.Info.Layers * s.Info.Heads,
            }),
            ["hub_analysis"] = PerSide(s => s.SeedSummary["hub_analysis"]!.DeepClone()),
            ["top_heads"] = PerSide(Top),
            ["functional_type_distribution_top20"] = PerSide(s => s.Phase2?["phase2"]?["seed"]?["functional_type_distribution_top20"]?.DeepClone()),
            ["layer_distribution_top20"] = PerSide(s => s.Phase2?["phase2"]?["seed"]?["layer_distribution_top20"]?.DeepClone()),
            ["key_findings"] = new JsonObject
            {
                ["hub_position"] = PerSide(s => s.SeedSummary["hub_analysis"]!["hub_position"]!.DeepClone()),
                ["hub_strength"] = PerSide(s => new JsonObject
                {
                    ["score"] = s.SeedSummary["hub_analysis"]!["hub_score"]!.DeepClone(), ["ratio"] = s.SeedSummary["hub_analysis"]!["hub_ratio"]!.DeepClone(),
                    ["strong"] = s.SeedSummary["hub_analysis"]!["is_strong_hub"]!.DeepClone(),
                }),
                ["sequential_flow"] = PerSide(s => s.SeedSummary["sequential_flow"]!["has_sequential_flow"]!.DeepClone()),
                ["skip_connections"] = PerSide(s => s.SeedSummary["skip_connections"]!["has_skip_connections"]!.DeepClone()),
            },
        };
    }

    private static void WriteFigures(string folder, Side[] sides)
    {
        var (seedRows, seedCols) = (Conventions.SeedRowLabels, Conventions.SeedColumnLabels);
        var seed = sides.Select(s => new MatrixPanel($"{s.Name} (head mean)", s.HeadMean(s.SeedAvg, 6, 6), seedRows, seedCols)).ToList();
        var seedMax = CeilTenth(seed.Max(p => MaxOf(p.Values)));
        File.WriteAllBytes(Path.Combine(folder, Files[2]), FigureKit.Heatmaps($"seed convention, shared range 0-{seedMax:0.0}", seed, 2, seedMax, "key (seed column j = z_{j+1})", "query (seed row; 0 = BOT)"));
        var latent = sides.Select(s => new MatrixPanel($"{s.Name} (head mean)", s.HeadMean(s.LatentAvg, s.Info.Latents + 1, s.Info.Latents + 3),
            Conventions.LatentRows(s.Info.Latents), Conventions.LatentColumnLabels(s.Info.Latents))).ToList();
        var latentMax = CeilTenth(latent.Max(p => MaxOf(p.Values)));
        File.WriteAllBytes(Path.Combine(folder, Files[3]), FigureKit.Heatmaps($"latent view, shared range 0-{latentMax:0.0}", latent, 2, latentMax, "key (Q = question after P0)", "query"));
        double[] Values(Side s, string section, string field) => [.. s.SeedSummary[section]![field]!.AsArray().Select(v => v!.GetValue<double>())];
        var panels = new List<BarPanel>();
        foreach (var s in sides)
        {
            panels.Add(new BarPanel($"{s.Name}: hub (seed columns)", seedCols, Values(s, "hub_analysis", "all_hub_scores"), "avg incoming", 1.0 / 6, ["#e74c3c"]));
        }
        foreach (var s in sides)
            panels.Add(new BarPanel($"{s.Name}: seed 'flow' (z_i self)", ["z1", "z2", "z3", "z4", "z5"], Values(s, "sequential_flow", "sequential_scores"), "attention", 0.3, ["#2ca02c"]));
        File.WriteAllBytes(Path.Combine(folder, Files[4]), FigureKit.Bars($"{sides[0].Name} vs {sides[1].Name}: hub and flow (seed convention)", panels));
    }

    private static double MaxOf(double[,] m) => m.Cast<double>().Where(v => !double.IsNaN(v)).DefaultIfEmpty(0).Max();

    private static double CeilTenth(double v) => Math.Max(0.1, Math.Ceiling(v * 10) / 10);

    private static string Markdown(JsonObject json, Side[] sides)
    {
        var (a, b) = (sides[0].Name, sides[1].Name);
        var md = new StringBuilder();
        void Line(string t = "") => md.Append(t).Append('\n');
        string V(JsonNode? n) => n is null ? "–" : CanonicalJson.NumberOf(n) is { } d ? d.ToString("0.####", CultureInfo.InvariantCulture) : n.ToJsonString().Trim('"');
        Line($"# {a} vs {b}");
        Line();
        Line($"Specs: `{sides[0].Spec.Reference}` and `{sides[1].Spec.Reference}`. Comparison key `{json["key"]}`.");
        Line();
        Line("## Spec fields that differ (resolved through extends)");
        Line();
        Line($"| field | {a} | {b} |");
        Line("|---|---|---|");
        foreach (var p in json["params_diff"]!.AsArray()) Line($"| `{p!["field"]}` | {p[a]} | {p[b]} |");
        Line();
        Line("## Models");
        Line();
        Line($"| | {a} | {b} |");
        Line("|---|---|---|");
        var mc = json["model_comparison"]!;
        Line($"| shape | {V(mc["models"]![a]!["model_size"])} | {V(mc["models"]![b]!["model_size"])} |");
        foreach (var (name, path) in new[] { ("hub position (seed; really z_{p+1})", "hub_position"), ("sequential flow (seed flag)", "sequential_flow"), ("skip connections (seed flag)", "skip_connections") })
            Line($"| {name} | {V(mc["key_findings"]![path]![a])} | {V(mc["key_findings"]![path]![b])} |");
        Line();
        Line("## Key metrics side by side");
        Line();
        Line($"| metric | {a} | {b} | Δ ({b} − {a}) |");
        Line("|---|---|---|---|");
        string[] headline =
        [
            "phase1.seed.attention_summary.hub_analysis.hub_score", "phase1.seed.attention_summary.hub_analysis.hub_ratio", "phase1.seed.attention_summary.sequential_flow.avg_sequential_attention",
            "phase1.seed.attention_summary.skip_connections.avg_skip_attention", "phase1.seed.attention_stats.consistency.mean_std", "phase1.latent.latent_summary.avg_sequential",
            "phase1.latent.latent_summary.avg_self_attention", "phase1.latent.latent_summary.hub.BOT.alpha", "phase1.latent.latent_summary.hub.P0.alpha", "phase1.latent.latent_summary.hub.z1.alpha",
            "phase1.latent.latent_summary.sink_rate.P0", "phase2.seed.scores.composite.max", "phase2.seed.scores.hub.mean", "phase2.seed.scores.skip.mean",
        ];
        var metrics = json["metrics"]!.AsArray().ToDictionary(m => m!["metric"]!.GetValue<string>(), m => m!);
        foreach (var h in headline.Where(metrics.ContainsKey)) Line($"| {h} | {V(metrics[h][a])} | {V(metrics[h][b])} | {V(metrics[h]["delta"])} |");
        Line();
        Line("## Top heads (Phase 2 composite, seed definitions)");
        Line();
        var tops = sides.Select(s => s.Phase2?["phase2"]?["seed"]?["top_heads"]?.AsArray() ?? []).ToArray();
        Line($"| rank | {a} | composite | {b} | composite |");
        Line("|---|---|---|---|---|");
        for (int r = 0; r < Math.Max(tops[0].Count, tops[1].Count); r++)
        {
            string Head(JsonArray t) => r < t.Count ? $"L{t[r]!["layer"]}H{t[r]!["head"]} ({t[r]!["functional_type"]})" : "–";
            string Comp(JsonArray t) => r < t.Count ? V(t[r]!["composite_score"]) : "–";
            Line($"| {r + 1} | {Head(tops[0])} | {Comp(tops[0])} | {Head(tops[1])} | {Comp(tops[1])} |");
        }
        Line();
        Line("![seed head mean](figures/seed_head_mean.png)");
        Line();
        Line("![latent head mean](figures/latent_head_mean.png)");
        Line();
        Line("![hub and flow](figures/hub_flow_skip.png)");
        Line();
        Line($"## Every summary value ({metrics.Count}; also in compare.json)");
        Line();
        Line($"| metric | {a} | {b} | Δ |");
        Line("|---|---|---|---|");
        foreach (var (name, m) in metrics) Line($"| {name} | {V(m[a])} | {V(m[b])} | {V(m["delta"])} |");
        return md.ToString();
    }
}
