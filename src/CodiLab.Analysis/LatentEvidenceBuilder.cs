namespace CodiLab.Analysis;

/// <summary>
/// The latent view's scores per problem (successful problems only), each beside its uniform-causal expectation:
/// z_a sees T_a = prompt tokens + a keys (P0, the question after P0, BOT, z1..z_a), BOT sees the prompt; a uniform
/// row gives every visible key 1/T, the question (prompt − 2 tokens) (prompt − 2)/T.
/// </summary>
public static class LatentEvidenceBuilder
{
    // The successful problems' head means and prompt lengths, and a score over them beside its uniform expectation.
    private sealed class Problems(double[][] hm, double[] prompts, int cols)
    {
        public double[][] Hm => hm;

        public double[] Prompts => prompts;

        public double At(double[] m, int row, int col) => m[row * cols + col];

        public Scored Score(string metric, string really, Func<double[], double> measured, Func<double, double> uniform) =>
            Scored.Of(metric, really, [.. hm.Select(measured)], [.. prompts.Select(uniform)]);
    }

    /// <summary>Builds the latent evidence; <paramref name="perProblem"/> receives the headline scores' per-problem values.</summary>
    public static LatentEvidence Build(LatentAnalysis a, int top, IDictionary<string, double[]>? perProblem = null)
    {
        var ok = Enumerable.Range(0, a.N).Where(n => !a.Failed(n)).ToArray();
        var all = a.HeadMeanByProblem();
        var pr = new Problems([.. ok.Select(n => all[n])], [.. ok.Select(n => (double)a.PromptTokens[n])], a.Columns);
        var k = a.K;
        var (mass, perToken) = Mass(pr, k);
        var keys = new List<(string Name, int Column)> { ("P0", LatentAnalysis.P0), ("BOT", LatentAnalysis.Bot) };
        keys.AddRange(Enumerable.Range(1, k).Select(b => ($"z{b}", LatentAnalysis.Z(b))));
        Scored Alpha(string name, int column, bool withSelf)
        {
            var first = column >= LatentAnalysis.Z(1) ? column - 2 + (withSelf ? 0 : 1) : 1;
            var queries = Enumerable.Range(first, k - first + 1).ToArray();
            var what = $"mean over queries {(queries.Length == 1 ? $"z{first}" : $"z{first}..z{k}")} of A(query → {name})";
            return pr.Score(withSelf ? name : $"{name} (no self)", what, m => queries.Average(q => pr.At(m, q, column)),
                t => queries.Average(q => 1 / (t + q)));
        }
        var alpha = keys.Select(x => Alpha(x.Name, x.Column, true)).ToList();
        var alphaNoSelf = keys.Where(x => x.Column < LatentAnalysis.Z(k)).Select(x => Alpha(x.Name, x.Column, false)).ToList();
        var (seq, self, skip) = Flows(pr.Score, pr.At, k);
        var sink = new Dictionary<string, Interval>();
        foreach (var (name, column) in keys.Take(3))
        {
            var byProblem = a.SinkRatePerProblem(column, LatentReport.SinkThreshold);
            double[] rates = [.. ok.Select(n => byProblem[n])];
            perProblem?.TryAdd($"latent.sink_rate.{name}", rates);
            sink[name] = Bootstrap.Mean(rates);
        }
        Scored? avgSeq = k > 1
            ? pr.Score("avg_sequential", $"mean of z_a → z_(a−1), a = 2..{k}",
                m => Enumerable.Range(2, k - 1).Average(q => pr.At(m, q, LatentAnalysis.Z(q - 1))),
                t => Enumerable.Range(2, k - 1).Average(q => 1 / (t + q)))
            : null;
        if (perProblem is not null) Headlines(pr, k, keys.Take(3), perProblem);
        return new LatentEvidence(mass, perToken, alpha, alphaNoSelf, seq, avgSeq, self, skip, sink, TopHeads(a, ok, top));
    }

    // Where each query's attention goes (P0, question, BOT, earlier latents, self), and the question share per token.
    private static (Dictionary<string, IReadOnlyList<Scored>>, Dictionary<string, Interval>) Mass(Problems pr, int k)
    {
        var mass = new Dictionary<string, IReadOnlyList<Scored>>
        {
            ["BOT"] =
            [
                pr.Score("P0", "BOT → P0", m => pr.At(m, 0, LatentAnalysis.P0), t => 1 / t),
                pr.Score("question", "BOT → question (P1…)", m => pr.At(m, 0, LatentAnalysis.Question), t => (t - 2) / t),
                pr.Score("self", "BOT → BOT", m => pr.At(m, 0, LatentAnalysis.Bot), t => 1 / t),
            ],
        };
        Interval PerToken(int row) =>
            Bootstrap.Mean([.. pr.Hm.Select((m, i) => pr.At(m, row, LatentAnalysis.Question) / (pr.Prompts[i] - 2))]);
        var perToken = new Dictionary<string, Interval> { ["BOT"] = PerToken(0) };
        for (int q = 1; q <= k; q++)
        {
            var qa = q;
            mass[$"z{q}"] =
            [
                pr.Score("P0", $"z{q} → P0", m => pr.At(m, qa, LatentAnalysis.P0), t => 1 / (t + qa)),
                pr.Score("question", $"z{q} → question (P1…)", m => pr.At(m, qa, LatentAnalysis.Question), t => (t - 2) / (t + qa)),
                pr.Score("BOT", $"z{q} → BOT", m => pr.At(m, qa, LatentAnalysis.Bot), t => 1 / (t + qa)),
                pr.Score("earlier_latents", $"z{q} → z1..z{q - 1}",
                    m => Enumerable.Range(1, qa - 1).Sum(b => pr.At(m, qa, LatentAnalysis.Z(b))), t => (qa - 1) / (t + qa)),
                pr.Score("self", $"z{q} → z{q}", m => pr.At(m, qa, LatentAnalysis.Z(qa)), t => 1 / (t + qa)),
            ];
            perToken[$"z{q}"] = PerToken(q);
        }
        return (mass, perToken);
    }

    // The headline scores by the names Compare pairs them under.
    private static void Headlines(Problems pr, int k, IEnumerable<(string Name, int Column)> keys, IDictionary<string, double[]> into)
    {
        foreach (var (name, column) in keys)
        {
            var first = column >= LatentAnalysis.Z(1) ? column - 2 : 1;
            into[$"latent.hub.{name}.alpha"] =
                [.. pr.Hm.Select(m => Enumerable.Range(first, k - first + 1).Average(q => pr.At(m, q, column)))];
        }
        if (k > 1)
            into["latent.avg_sequential"] =
                [.. pr.Hm.Select(m => Enumerable.Range(2, k - 1).Average(q => pr.At(m, q, LatentAnalysis.Z(q - 1))))];
        into["latent.avg_self_attention"] =
            [.. pr.Hm.Select(m => Enumerable.Range(1, k).Average(q => pr.At(m, q, LatentAnalysis.Z(q))))];
    }

    /// <summary>
    /// Uniform causal rows in the latent layout, [N, 1, 1, K+1, K+3]: the query in row r sees prompt + r keys, 1/T
    /// each, the question holding prompt − 2 of them; keys it cannot see are NaN.
    /// </summary>
    public static float[] UniformRows(IReadOnlyList<int> prompts, int k)
    {
        var (rows, cols) = (k + 1, k + 3);
        var raw = new float[prompts.Count * rows * cols];
        for (int n = 0; n < prompts.Count; n++)
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                {
                    var t = prompts[n] + r;
                    raw[(n * rows + r) * cols + c] = c == LatentAnalysis.Question ? (float)(prompts[n] - 2) / t
                        : c >= LatentAnalysis.Z(1) && c - 2 > r ? float.NaN : 1f / t;
                }
        return raw;
    }

    // Sequential z_a → z_(a−1), self z_a → z_a and the skip curve z_a → z_(a−d), each with its uniform expectation.
    private static (List<Scored> Seq, List<Scored> Self, List<Scored> Skip) Flows(
        Func<string, string, Func<double[], double>, Func<double, double>, Scored> score, Func<double[], int, int, double> at, int k)
    {
        var seq = Enumerable.Range(2, k - 1).Select(q => score($"z{q}->z{q - 1}", $"z{q} → z{q - 1}",
            m => at(m, q, LatentAnalysis.Z(q - 1)), t => 1 / (t + q))).ToList();
        var self = Enumerable.Range(1, k).Select(q => score($"z{q}", $"z{q} → z{q}",
            m => at(m, q, LatentAnalysis.Z(q)), t => 1 / (t + q))).ToList();
        var skip = Enumerable.Range(2, Math.Max(0, k - 2)).Select(d => score($"d={d}", $"mean of z_a → z_(a−{d}), a = {d + 1}..{k}",
            m => Enumerable.Range(d + 1, k - d).Average(q => at(m, q, LatentAnalysis.Z(q - d))),
            t => Enumerable.Range(d + 1, k - d).Average(q => 1 / (t + q)))).ToList();
        return (seq, self, skip);
    }

    // Top heads by the largest latent-block cell (z_a → z_b, b ≤ a) of the mean, with argmax and rank intervals.
    private static List<RankedHead> TopHeads(LatentAnalysis a, int[] ok, int top)
    {
        var lh = a.Layers * a.Heads;
        var cells = new List<(int Row, int Col)>();
        for (int q = 1; q <= a.K; q++)
            for (int b = 1; b <= q; b++) cells.Add((q, LatentAnalysis.Z(b)));
        var mean = new double[lh * cells.Count];
        foreach (var n in ok)
            for (int h = 0; h < lh; h++)
                for (int c = 0; c < cells.Count; c++) mean[h * cells.Count + c] += a.Raw(n, h, cells[c].Row, cells[c].Col);
        for (int c = 0; c < mean.Length; c++) mean[c] /= ok.Length;
        var point = HeadRanks.MaxPerHead(mean, lh, cells.Count);
        var order = Enumerable.Range(0, lh).OrderByDescending(h => point[h]).Take(top).ToArray();
        var resampled = Resampling.Of(ok.Length, Bootstrap.RankResamples).ColumnMeans(lh * cells.Count, (i, row) =>
        {
            for (int h = 0; h < lh; h++)
                for (int c = 0; c < cells.Count; c++) row[h * cells.Count + c] = a.Raw(ok[i], h, cells[c].Row, cells[c].Col);
        });
        double[][] scores = [.. resampled.Select(m => HeadRanks.MaxPerHead(m, lh, cells.Count))];
        return HeadRanks.Of(point, order, scores, h =>
        {
            var m = mean.AsSpan(h * cells.Count, cells.Count).ToArray();
            var (row, col) = cells[Array.IndexOf(m, m.Max())];
            var really = col - 2 == row ? $"z{row} → z{row} (self)" : $"z{row} → z{col - 2}";
            return ($"z{row} → z{col - 2}", really);
        }, a.Heads);
    }
}
