using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Specs;

/// <summary>The <c>interventions</c> section (Phase 3): defaults, typed values, and errors with their positions.</summary>
public sealed class InterventionsSpecTests : IDisposable
{
    private const string Valid = "model:\n  arch: llama\n  source: generated\ndataset:\n  source: synthetic\n  size: 50\n  sample: 10\n";
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_spec_that_only_asks_for_Phase3_gets_the_standard_sweep()
    {
        var spec = SpecLoader.Load(_dir.Write("p3.yaml", Valid + "phases: [Phase1, Phase2, Phase3]\n"));

        var i = spec.Interventions;
        Assert.Equal(DatasetSplit.Test, i.Split);
        Assert.IsType<SampleSize.All>(i.Problems);
        Assert.Equal(256, i.MaxNewTokens);
        Assert.Equal([InterventionFamily.TopHeads, InterventionFamily.HeadScan, InterventionFamily.Layers, InterventionFamily.Edges,
            InterventionFamily.Latents, InterventionFamily.Patching], i.Families);
        Assert.Equal([1, 3, 10, 20], i.TopK);
        Assert.Equal(new SampleSize.Count(24), i.HeadScan);
        Assert.Equal([LatentReplacement.Zero, LatentReplacement.Mean, LatentReplacement.Donor], i.Replacements);
        Assert.Equal((InterventionScope.Latent, LaterLatents.Recompute, 1, 2000), (i.Scope, i.LaterLatents, i.Controls, i.Bootstrap));
        Assert.IsType<SampleSize.All>(i.PatchLayers);
    }

    [Fact]
    public void Written_fields_are_typed_and_canonical()
    {
        var yaml = Valid + "interventions:\n  problems: 8\n  top_k: [2, 5]\n  families: [edges, kv_groups]\n  head_scan: all\n"
            + "  ablation: mean\n  scope: all\n  head_metric: hub_z1\n";
        var spec = SpecLoader.Load(_dir.Write("p3.yaml", yaml));

        Assert.Equal(new SampleSize.Count(8), spec.Interventions.Problems);
        Assert.Equal([2, 5], spec.Interventions.TopK);
        Assert.Equal([InterventionFamily.Edges, InterventionFamily.KvGroups], spec.Interventions.Families);
        Assert.IsType<SampleSize.All>(spec.Interventions.HeadScan);
        Assert.Equal((AblationMode.Mean, InterventionScope.All, "hub_z1"),
            (spec.Interventions.Ablation, spec.Interventions.Scope, spec.Interventions.HeadMetric));
        Assert.Equal("[2,5]", spec.CanonicalOf("interventions.top_k"));
        Assert.Equal("[edges,kv_groups]", spec.CanonicalOf("interventions.families"));
        Assert.Equal("[2,5]", SpecCanonical.Text(spec.Interventions.TopK));
    }

    public static TheoryData<string, string, int, int, string> Cases => new()
    {
        { "top_k not a list", Valid + "interventions:\n  top_k: 3\n", 9, 10, "must be a list of integers" },
        { "top_k word", Valid + "interventions:\n  top_k: [1, many]\n", 9, 14, "expected an integer" },
        { "top_k zero", Valid + "interventions:\n  top_k: [0]\n", 9, 11, "out of range" },
        { "top_k twice", Valid + "interventions:\n  top_k: [3, 3]\n", 9, 14, "listed twice" },
        { "unknown family", Valid + "interventions:\n  families: [heads]\n", 9, 14, "'heads' is not one of" },
        { "empty families", Valid + "interventions:\n  families: []\n", 9, 13, "is empty" },
        { "empty top_k", Valid + "interventions:\n  top_k: []\n", 9, 10, "'interventions.top_k' is empty" },
        { "unknown metric", Valid + "interventions:\n  head_metric: flow\n", 9, 16, "'flow' is not one of" },
        { "decode limit zero", Valid + "interventions:\n  max_new_tokens: 0\n", 9, 19, "out of range" },
        { "more problems than the synthetic split", Valid + "interventions:\n  problems: 51\n", 9, 13, "cannot draw 51" },
        { "unknown field", Valid + "interventions:\n  conditions: 3\n", 9, 3, "unknown field 'interventions.conditions'" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bad_interventions_are_reported_with_their_position(string name, string yaml, int line, int column, string fragment)
    {
        var path = _dir.Write("bad.yaml", yaml);

        var error = Assert.Throws<SpecException>(() => SpecLoader.Load(path));

        var d = error.Diagnostics[0];
        Assert.True(d.Message.Contains(fragment, StringComparison.Ordinal), $"{name}: message was: {d.Message}");
        Assert.Equal((path, line, column), (d.Mark.File, d.Mark.Line, d.Mark.Column));
        Assert.False(string.IsNullOrWhiteSpace(d.Fix));
    }
}
