using CodiLab.Analysis;
using CodiLab.Models.Codi;

namespace CodiLab.Pipeline.Extraction;

/// <summary>
/// Both matrix conventions cut from the captured rows of one trace (see <see cref="Conventions"/> for what each cell
/// means). This is the only place that knows where BOT and the latents sit in a trace's key axis.
/// </summary>
public static class TraceConventions
{
    private const int SeedSize = Conventions.SeedSize;

    /// <summary>The seed 6×6 of one trace, [L, H, 6, 6] flattened (float32, before the seed's float16 storage).</summary>
    public static float[] Seed(TraceResult trace)
    {
        var layers = trace.Attention["bot"];
        var (l, h) = (layers.Length, layers[0].Length);
        var q = trace.InputIds.Count - 1; // question length (BOS included); BOT sits at q
        var result = new float[l * h * SeedSize * SeedSize];
        for (int s = 1; s < SeedSize; s++)
        {
            if (!trace.Attention.TryGetValue($"z{s}", out var rows)) break;
            for (int li = 0; li < l; li++)
                for (int hi = 0; hi < h; hi++)
                    for (int j = 0; j < s; j++)
                        result[((li * h + hi) * SeedSize + s) * SeedSize + j] = rows[li][hi][q + 1 + j];
        }
        return result;
    }

    /// <summary>The latent view of one trace, [L, H, K+1, K+3] flattened; NaN where the query cannot see the key.</summary>
    public static float[] Latent(TraceResult trace, int k)
    {
        var layers = trace.Attention["bot"];
        var (l, h) = (layers.Length, layers[0].Length);
        var q = trace.InputIds.Count - 1;
        var (rowsN, cols) = (k + 1, k + 3);
        var result = new float[l * h * rowsN * cols];
        Array.Fill(result, float.NaN);
        for (int r = 0; r < rowsN; r++)
        {
            var name = r == 0 ? "bot" : $"z{r}";
            if (!trace.Attention.TryGetValue(name, out var rows)) continue;
            for (int li = 0; li < l; li++)
                for (int hi = 0; hi < h; hi++)
                {
                    var row = rows[li][hi];
                    var at = ((li * h + hi) * rowsN + r) * cols;
                    result[at] = row[0];
                    var question = 0.0;
                    for (int p = 1; p < q; p++) question += row[p];
                    result[at + 1] = (float)question;
                    result[at + 2] = row[q];
                    for (int b = 1; b <= r; b++) result[at + 2 + b] = row[q + b];
                }
        }
        return result;
    }
}
