using CodiLab.Analysis;
using CodiLab.Specs;
using Xunit;

namespace CodiLab.Tests.Analysis;

/// <summary>The Phase 3 sweep built from labels and a per-head metric: names, cells, matched controls, donors.</summary>
public sealed class Phase3PlanTests
{
    private static readonly Phase3Shape Tiny = new(Layers: 2, Heads: 4, KvHeads: 2, Latents: 6, Arch.Llama);

    private static InterventionsSection Section(params InterventionFamily[] families) => new(
        DatasetSplit.Test, new SampleSize.Count(8), 16, families, "sequential", [1, 3, 10, 20], new SampleSize.Count(24),
        AblationMode.Zero, InterventionScope.Latent, [LatentReplacement.Zero, LatentReplacement.Donor], LaterLatents.Recompute, 1, 200);

    // Metric rising with (layer, head): L1H3 is the top head, L0H0 the bottom one.
    private static Dictionary<HeadRef, double> Metric() =>
        Enumerable.Range(0, 8).ToDictionary(i => new HeadRef(i / 4, i % 4), i => i * 0.1);

    [Fact]
    public void Edge_families_hold_exactly_the_labelled_cells()
    {
        Assert.Equal(["z1->BOT", "z2->BOT", "z3->BOT", "z4->BOT", "z5->BOT", "z6->BOT"], Phase3Plan.EdgeFamily("bot", 6).Select(e => e.ToString()));
        Assert.Equal(["z2->z1", "z3->z1", "z4->z1", "z5->z1", "z6->z1"], Phase3Plan.EdgeFamily("z1", 6).Select(e => e.ToString()));
        Assert.Equal(["z2->z1", "z3->z2", "z4->z3", "z5->z4", "z6->z5"], Phase3Plan.EdgeFamily("seq", 6).Select(e => e.ToString()));
        // a − k for k ≥ 2: z3 reads z1; z4 reads z1, z2; ...: 1 + 2 + 3 + 4 = 10 cells, none of them a predecessor or self.
        var skip = Phase3Plan.EdgeFamily("skip", 6);
        Assert.Equal(10, skip.Count);
        Assert.All(skip, e => Assert.True(e.Query - int.Parse(e.Key[1..], System.Globalization.CultureInfo.InvariantCulture) >= 2));
        // 6 queries × (P0, question, BOT) + 15 earlier-latent cells; never a query reading itself.
        Assert.Equal(33, Phase3Plan.AllCells(6).Count());
        Assert.DoesNotContain(Phase3Plan.AllCells(6), e => e.Key == $"z{e.Query}");
    }

    [Fact]
    public void Edge_controls_block_as_many_random_cells_outside_the_family()
    {
        var plan = Phase3Plan.Build(Section(InterventionFamily.Edges), 42, Tiny, Metric());

        Assert.Equal(12, plan.Count); // six families, one control each
        foreach (var c in plan.Where(c => c.ControlOf is not null))
        {
            var family = plan.Single(x => x.Name == c.ControlOf);
            Assert.Equal(family.Edges.Count, c.Edges.Count);
            Assert.Empty(c.Edges.Intersect(family.Edges));
            Assert.Equal(c.Edges.Count, c.Edges.Distinct().Count());
        }
        // Seeded: the same seed draws the same cells, another seed other cells.
        Assert.Equal(plan, Phase3Plan.Build(Section(InterventionFamily.Edges), 42, Tiny, Metric()), new ConditionComparer());
        Assert.NotEqual(plan.Select(c => string.Join(",", c.Edges)),
            Phase3Plan.Build(Section(InterventionFamily.Edges), 7, Tiny, Metric()).Select(c => string.Join(",", c.Edges)));
    }

    [Fact]
    public void Top_k_is_capped_at_the_head_count_and_its_control_matches_heads_per_layer()
    {
        var plan = Phase3Plan.Build(Section(InterventionFamily.TopHeads), 42, Tiny, Metric());

        Assert.Equal(["top1-sequential", "top1-sequential-random1", "top3-sequential", "top3-sequential-random1", "top8-sequential",
            "top8-sequential-random1"], plan.Select(c => c.Name));
        Assert.Equal([new HeadRef(1, 3)], plan[0].Heads);
        Assert.Equal([new HeadRef(1, 1), new HeadRef(1, 2), new HeadRef(1, 3)], plan[2].Heads.OrderBy(h => h.Head));
        var control = plan[3];
        Assert.All(control.Heads, h => Assert.Equal(1, h.Layer));        // same layer counts: three heads of layer 1
        Assert.Equal([new HeadRef(1, 0)], control.Heads.Except(plan[2].Heads)); // only one layer-1 head lies outside the top 3
        Assert.Contains("[d·h, d·(h+1))", plan[0].Semantics, StringComparison.Ordinal);
        Assert.Contains("the latent steps only", plan[0].Semantics, StringComparison.Ordinal);
    }

    [Fact]
    public void Head_scan_spreads_over_the_ranking_and_other_families_name_their_sites()
    {
        var s = Section(InterventionFamily.HeadScan, InterventionFamily.Layers, InterventionFamily.Latents, InterventionFamily.Patching,
            InterventionFamily.KvGroups) with { HeadScan = new SampleSize.Count(3) };
        var plan = Phase3Plan.Build(s, 42, Tiny, Metric());

        Assert.Equal(["head-L1H3", "head-L0H3", "head-L0H0"], plan.Where(c => c.Family == "head_scan").Select(c => c.Name));
        Assert.Equal(["layer-L0", "layer-L1"], plan.Where(c => c.Family == "layers").Select(c => c.Name));
        Assert.Equal(12, plan.Count(c => c.Family == "latents")); // 6 positions × (zero, donor)
        Assert.Contains(plan, c => c.Name == "latent-z1-donor" && c.Latent == 1 && c.Mode == "donor/recompute");
        Assert.Equal(12, plan.Count(c => c.Family == "patching")); // 2 layers × 6 positions
        Assert.Contains(plan, c => c.Name == "patch-L1-z6" && c.Layer == 1 && c.Latent == 6);
        Assert.Equal(["kv-L0G0", "kv-L0G1", "kv-L1G0", "kv-L1G1"], plan.Where(c => c.Family == "kv_groups").Select(c => c.Name));
        Assert.Contains("query heads 2..3", plan.Single(c => c.Name == "kv-L0G1").Semantics, StringComparison.Ordinal);
    }

    [Fact]
    public void Patching_can_spread_over_fewer_layers()
    {
        Assert.Equal([0, 5, 10, 15], Phase3Plan.SpreadLayers(16, 4)); // 15·j/3
        Assert.Equal([0, 1], Phase3Plan.SpreadLayers(2, 5));
        var s = Section(InterventionFamily.Patching) with { PatchLayers = new SampleSize.Count(1) };
        Assert.Equal(6, Phase3Plan.Build(s, 42, Tiny, Metric()).Count); // layer 0 × z1..z6
    }

    [Fact]
    public void Donors_form_a_seeded_derangement()
    {
        var donors = Phase3Plan.Donors(10, 42);
        Assert.Equal(Enumerable.Range(0, 10), donors.Order());
        Assert.All(Enumerable.Range(0, 10), i => Assert.NotEqual(i, donors[i]));
        Assert.Equal(donors, Phase3Plan.Donors(10, 42));
        Assert.Equal([-1], Phase3Plan.Donors(1, 42));
    }

    private sealed class ConditionComparer : IEqualityComparer<Phase3Condition>
    {
        public bool Equals(Phase3Condition? x, Phase3Condition? y) =>
            x!.Name == y!.Name && x.Edges.SequenceEqual(y.Edges) && x.Heads.SequenceEqual(y.Heads);

        public int GetHashCode(Phase3Condition obj) => obj.Name.GetHashCode(StringComparison.Ordinal);
    }
}
