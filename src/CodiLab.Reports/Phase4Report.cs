using System.Globalization;
using System.Text;
using CodiLab.Analysis;
using static CodiLab.Reports.ReportFormat;

namespace CodiLab.Reports;

/// <summary>phase4_report.md: the seed's criteria as a table, then the evidence behind each row, the subsampling result and figures.</summary>
public static class Phase4Report
{
    /// <summary>The Markdown report of a Phase 4 summary.</summary>
    public static string Render(string name, Phase4Summary s)
    {
        var v = s.Validation;
        var md = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        md.Append(inv, $"# Phase 4: {name}\n\n")
            .Append(inv, $"Model `{s.Model}` ({s.Layers} layers × {s.Heads} heads, K = {s.Latents}). The Phase 1 sample ({s.SampleProblems} ")
            .Append(inv, $"problems) against the full set ({s.Problems} problems, {s.Failures} failed), which contains it.")
            .Append(s.Accuracy is { } a ? string.Create(inv, $" Decoded accuracy on the full set: {a.Correct}/{a.Total}.") : "")
            .Append("\n\n## The seed's criteria\n\n| criterion | threshold | value | 95% interval | result | note |\n|---|---|---|---|---|---|\n");
        foreach (var c in v.Criteria)
            md.Append(inv, $"| {c.Criterion} | {c.Threshold} | {F(c.Value)} | {(c.Interval is { } i ? $"[{F(i.Low)}, {F(i.High)}]" : "–")} | ")
                .Append(inv, $"**{c.Result}** | {c.Note} |\n");
        md.Append("\nThe seed planned a paired t-test between the two sets. It is not run: the sample is a subset of the full set, so ")
            .Append("the two means share problems and are not independent samples. The question it was meant to answer — would a ")
            .Append("sample of this size reach the same conclusions? — is answered by the subsampling distribution below.\n\n");
        Conclusions(md, s);
        Subsampling(md, v.Subsampling);
        Headlines(md, v.Headlines);
        Overlaps(md, v.Overlaps);
        Ranks(md, v.HeadRanks);
        md.Append("## Figures\n\n![patterns](figures/phase4_patterns.png)\n\n![head metrics](figures/phase4_head_scatter.png)\n\n")
            .Append("![subsampling](figures/phase4_subsampling.png)\n\n![per problem](figures/phase4_per_problem.png)\n\n")
            .Append("One row per problem (prompt length, reasoning steps, answer magnitude, headline metrics, correctness when decoding is ")
            .Append("on) is in `phase4_problems.csv`.\n");
        return md.ToString();
    }

    private static void Conclusions(StringBuilder md, Phase4Summary s)
    {
        var (a, b) = (s.Validation.Sample, s.Validation.Full);
        md.Append("## Conclusions of each set\n\n| | hub position | hub ratio | hub? | avg sequential | flow? | avg skip | skip? |\n")
            .Append("|---|---|---|---|---|---|---|---|\n");
        foreach (var (label, c) in new[] { ($"Phase 1 sample ({s.SampleProblems})", a), ($"full set ({s.Problems})", b) })
            md.Append(CultureInfo.InvariantCulture, $"| {label} | {c.HubPosition} | {F(c.HubRatio)} | {B(c.Hub)} | {F(c.AvgSequential)} | ")
                .Append(CultureInfo.InvariantCulture, $"{B(c.Flow)} | {F(c.AvgSkip)} | {B(c.Skip)} |\n");
        md.Append("\nMean-pattern correlation over visible cells (seed convention: the 15 cells z_s → z_(j+1), j < s, per head; latent ")
            .Append("view: the cells a query can see):\n\n| convention | cells | Pearson | 95% interval | Spearman |\n|---|---|---|---|---|\n");
        foreach (var c in s.Validation.Correlations)
            md.Append(CultureInfo.InvariantCulture, $"| {c.Convention} | {c.Cells} | {F(c.Pearson)} | {CI(c.PearsonInterval)} | {F(c.Spearman)} |\n");
        md.Append('\n');
    }

    private static void Subsampling(StringBuilder md, Phase4Subsampling sub)
    {
        var inv = CultureInfo.InvariantCulture;
        md.Append(inv, $"## Subsampling: {sub.Subsets} random subsets of {sub.Size} problems from the full set\n\n")
            .Append(inv, $"Share reaching the full set's conclusions: hub position {sub.SameHub:P1}, flow verdict {sub.SameFlow:P1}, ")
            .Append(inv, $"skip verdict {sub.SameSkip:P1}, ")
            .Append(string.Join(", ", sub.SameTopHeads.Select(kv => string.Create(inv, $"top-10 overlap > 70% by {kv.Key} {kv.Value:P1}"))))
            .Append(inv, $"; all of these at once {sub.SameAll:P1}.\n\n")
            .Append("| statistic | Phase 1 sample | full set | subsets: 2.5% | median | 97.5% | sample's percentile |\n|---|---|---|---|---|---|---|\n");
        foreach (var d in sub.Distributions)
        {
            var range = Bootstrap.Percentiles(double.NaN, d.Values);
            double[] sorted = [.. d.Values.Order()];
            md.Append(inv, $"| {d.Metric} | {F(d.SampleValue)} | {F(d.FullValue)} | {F(range.Low)} | {F(sorted[sorted.Length / 2])} | ")
                .Append(inv, $"{F(range.High)} | {d.Percentile:0.0} |\n");
        }
        md.Append('\n');
    }

    private static void Headlines(StringBuilder md, IReadOnlyList<Phase4Headline> headlines)
    {
        md.Append("## Headline metrics (mean over problems, bootstrap 95% interval)\n\n| metric | Phase 1 sample | full set |\n|---|---|---|\n");
        foreach (var h in headlines) md.Append(CultureInfo.InvariantCulture, $"| {h.Metric} | {CI(h.Sample)} | {CI(h.Full)} |\n");
        md.Append('\n');
    }

    private static void Overlaps(StringBuilder md, IReadOnlyList<Phase4Overlap> overlaps)
    {
        md.Append("## Top-k heads, sample vs full\n\n| metric | k | shared | share (95% interval) | Jaccard | RBO (p = 0.9) | sample's top | full top |\n")
            .Append("|---|---|---|---|---|---|---|---|\n");
        foreach (var o in overlaps)
            md.Append(CultureInfo.InvariantCulture, $"| {o.Metric} | {o.K} | {o.Count} | {CI(o.ShareInterval)} | {F(o.Jaccard)} | {F(o.Rbo)} | ")
                .Append(CultureInfo.InvariantCulture, $"{string.Join(" ", o.SampleTop)} | {string.Join(" ", o.FullTop)} |\n");
        md.Append('\n');
    }

    private static void Ranks(StringBuilder md, IReadOnlyList<Phase4HeadRank> ranks)
    {
        md.Append("## Head ranks on the full set (bootstrap over problems)\n\n| metric | head | mean | rank (95% interval) | P(top 20) |\n")
            .Append("|---|---|---|---|---|\n");
        foreach (var r in ranks)
            md.Append(CultureInfo.InvariantCulture, $"| {r.Metric} | L{r.Layer}H{r.Head} | {F(r.Value)} | {Rank(r.Rank)} | {F(r.PTop, "0.00")} |\n");
        md.Append('\n');
    }
}
