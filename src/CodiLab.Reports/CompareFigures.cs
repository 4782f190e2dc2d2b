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
        var seed = sides.Select(s => new MatrixPanel($"{s.Name} (head mean)", s.HeadMean(s.SeedAvg, 6, 6), seedRows, seedCols)
        {
            Structural = FigureKit.SeedStructural(),
        }).ToList();
        var seedMax = CeilTenth(seed.Max(p => MaxOf(p.Values)));
        var seedPng = FigureKit.Heatmaps($"seed convention, shared range 0-{seedMax:0.0}", seed, 2, seedMax,
            "key (seed column j = z_{j+1})", "query (seed row; 0 = BOT)");
        var latent = sides.Select(s =>
        {
            var m = s.HeadMean(s.LatentAvg, s.Info.Latents + 1, s.Info.Latents + 3);
            var perToken = Phase1Figures.MeanQuestionTokens(s.Info);
            for (int i = 0; i < m.GetLength(0); i++) m[i, 1] /= perToken; // the question as its mean per token
            return new MatrixPanel($"{s.Name} (head mean)", m, Conventions.LatentRows(s.Info.Latents),
                Conventions.LatentColumnLabels(s.Info.Latents)) { SplitColumn = 3 };
        }).ToList();
        var blockMax = CeilTenth(latent.Max(p => Enumerable.Range(0, p.Values.GetLength(0))
            .SelectMany(i => Enumerable.Range(3, p.Values.GetLength(1) - 3).Select(j => p.Values[i, j])).Where(double.IsFinite)
            .DefaultIfEmpty(0).Max()));
        var latentPng = FigureKit.Heatmaps($"latent view (Q = question share per token), latent block shared range 0-{blockMax:0.0}",
            latent, 2, 1.0, "key", "query", "P0, Q (per token), BOT", blockMax, "latent block z1..zK");
        var panels = new List<BarPanel>();
        foreach (var s in sides)
            panels.Add(new BarPanel(
                $"{s.Name}: hub (seed columns)", seedCols, s.Seed.Hub.AllHubScores, "avg incoming", 1.0 / 6, ["#e74c3c"])
            {
                ReferenceLabel = "1/6 (the seed's baseline)", Expected = s.Evidence?.Seed.Hub.Select(h => h.Uniform).ToArray(),
                Whiskers = s.Evidence?.Seed.Hub.Select(h => (h.Measured.Low, h.Measured.High)).ToArray(),
            });
        foreach (var s in sides)
            panels.Add(new BarPanel($"{s.Name}: seed 'flow' (z_i self)", ["z1", "z2", "z3", "z4", "z5"], s.Seed.Sequential.Scores,
                "attention", 0.3, ["#2ca02c"])
            {
                ReferenceLabel = "seed threshold 0.3", Expected = s.Evidence?.Seed.Sequential.Select(h => h.Uniform).ToArray(),
                Whiskers = s.Evidence?.Seed.Sequential.Select(h => (h.Measured.Low, h.Measured.High)).ToArray(),
            });
        foreach (var s in sides)
            panels.Add(new BarPanel($"{s.Name}: seed skip (z5 -> z1..z3)", ["z5->z1", "z5->z2", "z5->z3"], s.Seed.Skip.Scores,
                "attention", 0.1, ["#ff7f0e"])
            {
                ReferenceLabel = "seed threshold 0.1", Expected = s.Evidence?.Seed.Skip.Select(h => h.Uniform).ToArray(),
                Whiskers = s.Evidence?.Seed.Skip.Select(h => (h.Measured.Low, h.Measured.High)).ToArray(),
            });
        foreach (var s in sides.Where(s => s.Evidence is not null))
            panels.Add(new BarPanel($"{s.Name}: latent alpha per key", [.. s.Evidence!.Latent.Alpha.Select(x => x.Metric)],
                [.. s.Evidence.Latent.Alpha.Select(x => x.Measured.Value)], "alpha (mean attention)", null, ["#9467bd"])
            {
                Expected = [.. s.Evidence.Latent.Alpha.Select(x => x.Uniform)],
                Whiskers = [.. s.Evidence.Latent.Alpha.Select(x => (x.Measured.Low, x.Measured.High))],
            });
        var bars = Grid($"{sides[0].Name} vs {sides[1].Name}: seed hub, flow, skip; latent alpha", panels);
        return [(Files[0], seedPng), (Files[1], latentPng), (Files[2], bars)];
    }

    // Two panels a row (one per side), rows stacked: hub, flow, skip, latent alpha.
    private static byte[] Grid(string title, List<BarPanel> panels)
    {
        var rows = new List<byte[]>();
        for (int i = 0; i < panels.Count; i += 2)
            rows.Add(FigureKit.Bars(i == 0 ? title : "", [.. panels.Skip(i).Take(2)]));
        using var first = SkiaSharp.SKBitmap.Decode(rows[0]);
        var height = rows.Sum(r => { using var b = SkiaSharp.SKBitmap.Decode(r); return b.Height; });
        using var surface = SkiaSharp.SKSurface.Create(new SkiaSharp.SKImageInfo(first.Width, height));
        surface.Canvas.Clear(SkiaSharp.SKColors.White);
        var y = 0;
        foreach (var r in rows)
        {
            using var b = SkiaSharp.SKBitmap.Decode(r);
            surface.Canvas.DrawBitmap(b, 0, y);
            y += b.Height;
        }
        using var image = surface.Snapshot();
        using var png = image.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    private static double MaxOf(double[,] m) => m.Cast<double>().Where(v => !double.IsNaN(v)).DefaultIfEmpty(0).Max();

    private static double CeilTenth(double v) => Math.Max(0.1, Math.Ceiling(v * 10) / 10);
}
