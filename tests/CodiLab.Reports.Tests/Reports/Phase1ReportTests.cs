using System.Globalization;
using System.Text;
using CodiLab.Analysis;
using CodiLab.Reports;
using Xunit;

namespace CodiLab.Tests.Reports;

/// <summary>
/// The Phase 1 Markdown and HTML from hand-made typed artifacts (<see cref="Phase1Inputs"/>): each table holds the
/// typed values formatted as the report promises, in order, a missing value prints as an en dash, and the HTML
/// copy embeds every figure the Markdown names.
/// </summary>
public sealed class Phase1ReportTests
{
    private static readonly string Md = Phase1Report.Render(Phase1Inputs.Report());

    // The body rows of the table whose header line is `header` (up to the first line that is not a row).
    private static List<string> Table(string markdown, string header)
    {
        var lines = markdown.Split('\n');
        var at = Array.IndexOf(lines, header);
        Assert.True(at >= 0, $"no table headed {header}");
        Assert.StartsWith("|---", lines[at + 1], StringComparison.Ordinal);
        return [.. lines.Skip(at + 2).TakeWhile(l => l.StartsWith('|'))];
    }

    [Fact]
    public void Hub_table_has_a_row_per_seed_position_with_what_the_column_really_is()
    {
        string[] really = ["z1", "z2", "z3", "z4", "z5", "z6 (never exists)"];
        var expected = Phase1Inputs.HubScores.Select((v, p) =>
            $"| {p} | {really[p]} | {(double.IsNaN(v) ? "–" : v.ToString("0.0000", CultureInfo.InvariantCulture))} |");
        var rows = Table(Md, "| seed position | really (key) | avg incoming attention | per problem [95% CI] | uniform expectation "
            + "| ratio [95% CI] | verdict |");
        Assert.Equal(expected, rows.Select(r => string.Join("|", r.Split('|').Take(4)) + "|"));
        Assert.Contains("| 5 | z6 (never exists) | – |", Md, StringComparison.Ordinal); // NaN as an en dash
        Assert.EndsWith("| 0.0000 | – | structural (cannot be non-zero) |", rows[5], StringComparison.Ordinal); // z6: structural
        Assert.Contains("Hub position **0** (really z1), score 0.4321, ratio to 1/6 = 2.59× (per problem: ", Md, StringComparison.Ordinal);
        Assert.Contains("strong hub: **true**.", Md, StringComparison.Ordinal);
    }

    [Fact]
    public void Top_heads_table_lists_every_top_head_in_order_to_three_decimals()
    {
        var table = Table(Md, "| rank | head | max | mean | SD | argmax cell | really | max [95% CI] | rank [95% CI] |");
        Assert.Equal(Phase1Inputs.SeedTop.Length, table.Count);
        Assert.All(table, r => Assert.Matches(@"\| \[\d, \d\] \| z\d → z\d.* \| [\d.]+ \[[\d.]+, [\d.]+\] \| \d+ \[\d+, \d+\] \|$", r));
        var rows = table.Select(r => string.Join("|", r.Split('|').Take(6)) + "|").ToList();
        Assert.Equal(
        [
            "| 1 | L2H1 | 0.912 | 0.046 | 0.079 |",
            "| 2 | L0H0 | 0.877 | 0.043 | 0.071 |",
            "| 3 | L3H1 | 0.823 | 0.040 | 0.066 |",
            "| 4 | L1H0 | 0.701 | 0.039 | 0.060 |",
            "| 5 | L3H0 | 0.654 | 0.035 | 0.059 |",
            "| 6 | L0H1 | 0.543 | 0.033 | 0.051 |",
            "| 7 | L2H0 | 0.432 | 0.030 | 0.050 |",
        ], rows);
    }

    [Fact]
    public void Seed_flow_and_skip_tables_name_what_each_cell_really_is()
    {
        Assert.Equal(
        [
            "| [1, 0] | z1 → z1 (self) | 0.3111 |", "| [2, 1] | z2 → z2 (self) | 0.2468 |", "| [3, 2] | z3 → z3 (self) | 0.1357 |",
            "| [4, 3] | z4 → z4 (self) | 0.2013 |", "| [5, 4] | z5 → z5 (self) | 0.2161 |",
        ], Table(Md, "| seed cell | really | attention | per problem [95% CI] | uniform expectation | ratio [95% CI] | verdict |")
            .Select(r => string.Join("|", r.Split('|').Take(4)) + "|"));
        Assert.Contains("| [5, 1] | z5 → z2 | 0.1444 | ", Md, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_values_print_as_an_en_dash()
    {
        // P0 has no "without P0" variant (null), the average sequential is null, z1 has no true predecessor.
        Assert.Contains("| P0 | 0.6101 | – | 14.20 | – |", Md, StringComparison.Ordinal);
        Assert.Contains("| BOT | 0.1202 | 0.3303 | 2.81 | 7.02 |", Md, StringComparison.Ordinal);
        Assert.Contains("Average sequential – (per problem: ", Md, StringComparison.Ordinal);
        Assert.Contains("| \"sequential\" [1, 0] | z1 self-attention | 0.3111 | self z1 0.0200; true z1→z0 – |", Md, StringComparison.Ordinal);
        Assert.Equal("–", ReportFormat.F(double.NaN));
        Assert.Equal("–", ReportFormat.F((double?)null));
    }

    [Fact]
    public void Latent_hub_table_has_a_row_per_key_in_the_summarys_order()
    {
        var rows = Table(Md, "| key | α (mean over queries that see it) | α without P0 (rows renormalised) | × uniform causal row | × uniform, without P0 |");
        Assert.Equal(["P0", "BOT", "z1", "z2", "z3", "z4", "z5", "z6"], rows.Select(r => r.Split('|')[1].Trim()));
        Assert.Equal("| z3 | 0.1500 | 0.3000 | 3.30 | 6.60 |", rows[4]);
        Assert.Contains("Hub (largest α) over each named set of keys: over P0, BOT, z1..z6: **P0** with self-attention, **P0** without; "
            + "over z1..z6 (z1..z5 without self): **z6** with self-attention, **z5** without.", Md, StringComparison.Ordinal);
        Assert.Contains("Sink rate (% of heads with alpha > threshold, per problem, averaged over problems, threshold α > 0.3): P0 75.0% [",
            Md, StringComparison.Ordinal);
        Assert.Equal(Phase1Inputs.K, Table(Md, "| query | P0 | question | BOT | earlier latents | self | question per token [95% CI] |").Count);
    }

    [Fact]
    public void Run_table_shows_shape_dataset_accuracy_thresholds_and_cache_keys()
    {
        var run = Table(Md, "| item | value |");
        Assert.Contains("| model | llama (4 layers × 2 heads, 6 latents), float32 on cpu |", run);
        Assert.Contains("| dataset | synthetic test split, sample 4, seed 42: 4 problems (1 failed); dataset.json sha256 `d00d` |", run);
        Assert.Contains("| accuracy | not measured (`extraction.max_new_tokens: 0`, as the seed) |", run);
        Assert.Contains("| thresholds | hub ratio 2, sequential 0.3, skip 0.1 |", run);
        Assert.Equal(["| cache key: sample | `k-sample` |", "| cache key: extract | `k-extract` |"], run.Where(r => r.StartsWith("| cache key", StringComparison.Ordinal)));

        var measured = Table(Phase1Report.Render(Phase1Inputs.Report(new Accuracy(3, 4))), "| item | value |");
        Assert.Contains("| accuracy | 3/4 (75.0%), greedy answers of up to 32 tokens, last number compared with the gold answer |", measured);
    }

    [Fact]
    public void Spec_table_escapes_pipes_in_values()
    {
        Assert.Equal(["| `name` | tiny <exp> | specs/tiny.yaml:1:7 |", "| `description` | a \\| b | default |"], Table(Md, "| field | value | from |"));
    }

    [Fact]
    public void Html_embeds_every_figure_the_markdown_names_as_a_data_uri()
    {
        var asked = new List<string>();
        byte[] Figure(string file)
        {
            asked.Add(file);
            return Encoding.UTF8.GetBytes("png of " + file);
        }
        var html = Phase1Report.RenderHtml(Md, "tiny <exp>", Figure);

        Assert.Equal(Phase1Figures.Files, asked);
        foreach (var file in asked)
            Assert.Contains($"src=\"data:image/png;base64,{Convert.ToBase64String(Encoding.UTF8.GetBytes("png of " + file))}\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("src=\"figures/", html, StringComparison.Ordinal);
        Assert.Contains("<title>Phase 1 — tiny &lt;exp&gt;</title>", html, StringComparison.Ordinal);
        Assert.Contains("<table>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Matrix_latent_leads_the_report_and_the_glossary_names_P0_per_architecture()
    {
        var input = Phase1Inputs.Report();
        var latentLed = Phase1Report.Render(input with { Run = input.Run with { Primary = "latent", Arch = "gpt2" } });
        Assert.True(latentLed.IndexOf("## Latent view", StringComparison.Ordinal) < latentLed.IndexOf("## Seed convention", StringComparison.Ordinal));
        Assert.True(Md.IndexOf("## Seed convention", StringComparison.Ordinal) < Md.IndexOf("## Latent view", StringComparison.Ordinal));
        Assert.Contains("| P0 | the first prompt position: the first question token (GPT-2 CODI prompts have no BOS) |", latentLed,
            StringComparison.Ordinal);
        Assert.Contains("| P0 | the first prompt position: BOS (`<|begin_of_text|>`), before the question |", Md, StringComparison.Ordinal);
        Assert.Contains("## Changed from the previous version of this report", Md, StringComparison.Ordinal);
    }

    [Fact]
    public void A_seed_experiment_gets_the_parity_table()
    {
        var input = Phase1Inputs.Report();
        var md = Phase1Report.Render(input with { Run = input.Run with { SeedExperiment = true } });
        var rows = Table(md, "| quantity | seed reported | reproduced | match at printed precision |");
        Assert.Contains("| hub[0] | 0.1972 | 0.4321 | false |", rows);
        Assert.DoesNotContain("| quantity | seed reported |", Md, StringComparison.Ordinal);
    }
}
