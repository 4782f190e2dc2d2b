using CodiLab.Analysis;

namespace CodiLab.Reports;

/// <summary>Compare's side-by-side figures, each pair on one shared colour range.</summary>
public static class CompareFigures
{
    /// <summary>The figure files, relative to the comparison's folder.</summary>
    public static readonly string[] Files = ["figures/seed_head_mean.png", "figures/latent_head_mean.png", "figures/hub_flow_skip.png"];

    /// <summary>Renders the three figures: relative path → PNG.</summary>
    public static IReadOnlyList<(string File, byte[] Png)> Render(IReadOnlyList<CompareSide> sides)
    {
        var (seedRows, seedCols) = (Conventions.SeedRowLabels, Conventions.SeedColumnLabels);
        var seed = sides.Select(s => new MatrixPanel($"{s.Name} (head mean)", s.HeadMean(s.SeedAvg, 6, 6), seedRows, seedCols)).ToList();
        var seedMax = CeilTenth(seed.Max(p => MaxOf(p.Values)));
        var seedPng = FigureKit.Heatmaps($"seed convention, shared range 0-{seedMax:0.0}", seed, 2, seedMax,
            "key (seed column j = z_{j+1})", "query (seed row; 0 = BOT)");
        var latent = sides.Select(s => new MatrixPanel($"{s.Name} (head mean)",
            s.HeadMean(s.LatentAvg, s.Info.Latents + 1, s.Info.Latents + 3),
            Conventions.LatentRows(s.Info.Latents), Conventions.LatentColumnLabels(s.Info.Latents))).ToList();
        var latentMax = CeilTenth(latent.Max(p => MaxOf(p.Values)));
        var latentPng = FigureKit.Heatmaps($"latent view, shared range 0-{latentMax:0.0}", latent, 2, latentMax,
            "key (Q = question after P0)", "query");
        var panels = new List<BarPanel>();
        foreach (var s in sides)
            panels.Add(new BarPanel(
                $"{s.Name}: hub (seed columns)", seedCols, s.Seed.Hub.AllHubScores, "avg incoming", 1.0 / 6, ["#e74c3c"]));
        foreach (var s in sides)
            panels.Add(new BarPanel($"{s.Name}: seed 'flow' (z_i self)", ["z1", "z2", "z3", "z4", "z5"], s.Seed.Sequential.Scores,
                "attention", 0.3, ["#2ca02c"]));
        var bars = FigureKit.Bars($"{sides[0].Name} vs {sides[1].Name}: hub and flow (seed convention)", panels);
        return [(Files[0], seedPng), (Files[1], latentPng), (Files[2], bars)];
    }

    private static double MaxOf(double[,] m) => m.Cast<double>().Where(v => !double.IsNaN(v)).DefaultIfEmpty(0).Max();

    private static double CeilTenth(double v) => Math.Max(0.1, Math.Ceiling(v * 10) / 10);
}
