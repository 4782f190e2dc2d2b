using System.Text.Json;
using CodiLab.Models;
using CodiLab.Models.Codi;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Cli;

/// <summary><c>trace</c> under interventions: what it records, and how it refuses bad option values.</summary>
public sealed class TraceInterventionTests : IDisposable
{
    private const string Question = "Tom has 3 apples and buys 4 more. How many apples does he have?";
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private (int Code, string Out, string Error) Invoke(params string[] args) =>
        CliRun.Invoke(Path.Combine(_dir.Path, "artifacts"), args);

    private string Model()
    {
        var folder = Path.Combine(_dir.Path, "tiny");
        TorchRuntime.Initialize();
        TinyModel.Write("llama", 42, folder);
        return folder;
    }

    [Fact]
    public void Trace_records_the_interventions_and_uses_probabilities_with_blocked_cells_at_zero()
    {
        var model = Model();
        var plainJson = Path.Combine(_dir.Path, "plain.json");
        var json = Path.Combine(_dir.Path, "intervened.json");

        var plain = Invoke("trace", model, "--question", Question, "--max-new-tokens", "4", "--gold", "7", "--json", plainJson);
        var (code, output, error) = Invoke("trace", model, "--question", Question, "--max-new-tokens", "4", "--gold", "7",
            "--ablate-head", "1:2", "--scope", "latent", "--block-edge", "z*->BOT@0-1", "--json", json);

        Assert.True(plain.Code == 0, plain.Error);
        Assert.True(code == 0, error);
        Assert.Contains("intervention: head ablation L1H2 (zero) of the output projection's input, in latent passes", output,
            StringComparison.Ordinal);
        Assert.Contains("intervention: edge blocking z1->BOT, z2->BOT", output, StringComparison.Ordinal);
        Assert.Contains("gold 'The answer is: 7' + EOS: log-probability", output, StringComparison.Ordinal);
        var before = JsonDocument.Parse(File.ReadAllText(plainJson)).RootElement;
        var after = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        Assert.False(before.TryGetProperty("interventions", out _));
        var kinds = after.GetProperty("interventions").EnumerateArray().Select(i => i.GetProperty("kind").GetString()).ToList();
        Assert.Equal(["head_ablation", "edge_block"], kinds);
        Assert.Equal("latent", after.GetProperty("interventions")[0].GetProperty("scope").GetString());
        Assert.NotEqual(before.GetProperty("gold_logprob").GetDouble(), after.GetProperty("gold_logprob").GetDouble());

        var bot = after.GetProperty("input_ids").GetArrayLength() - 1;
        foreach (var query in new[] { "z1", "z2", "z3", "z4", "z5", "z6" })
        {
            var layers = after.GetProperty("attention").GetProperty(query).EnumerateArray().ToList();
            foreach (var (heads, layer) in layers.Select((h, l) => (h, l)))
                foreach (var row in heads.EnumerateArray())
                {
                    var values = row.EnumerateArray().Select(v => v.GetDouble()).ToList();
                    Assert.InRange(values.Sum(), 1 - 1e-5, 1 + 1e-5);
                    if (layer <= 1) Assert.Equal(0.0, values[bot]);
                    else Assert.True(values[bot] > 0);
                }
        }
        // The prompt pass is the plain one (latent scope; edges whose queries are thoughts).
        Assert.Equal(before.GetProperty("attention").GetProperty("bot").GetRawText(),
            after.GetProperty("attention").GetProperty("bot").GetRawText());
    }

    [Fact]
    public void An_intervention_the_model_cannot_take_is_one_paragraph_and_exit_2_before_any_trace()
    {
        var model = Model();
        foreach (var args in new[] { new[] { "--ablate-head", "9:0" }, ["--block-edge", "z1->z3"], ["--replace-latent", "z9=zero"] })
        {
            var (code, output, error) = Invoke(["trace", model, "--question", Question, "--max-new-tokens", "2", .. args]);
            Assert.Equal(ExitCodes.InvalidSpec, code);
            Assert.Contains("Fix: ", error, StringComparison.Ordinal);
            Assert.Single(error.Trim().Split('\n'));
            Assert.DoesNotContain("prompt tokens", output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("--ablate-head", "1-2")]
    [InlineData("--ablate-mode", "avg", "--ablate-head", "0:1")]
    [InlineData("--ablate-mode", "mean", "--ablate-head", "0:1")]
    [InlineData("--scope", "latents")]
    [InlineData("--block-edge", "z3>z1")]
    [InlineData("--block-edge", "z*->z*-0")]
    [InlineData("--block-edge", "z3->z1@0:x")]
    [InlineData("--replace-latent", "z2=one")]
    [InlineData("--replace-latent", "z2=donor")]
    [InlineData("--patch-residual", "question@1", "--donor-question", "x")]
    [InlineData("--ablate-kv", "1:0:q")]
    [InlineData("--hold-later")]
    [InlineData("--donor-question", "x")]
    [InlineData("--gold", "1", "--gold", "2")]
    [InlineData("--ablate-head", "0:1,0:1")]
    [InlineData("--gold", " ")]
    [InlineData("--question", "")]
    public void Bad_intervention_options_are_one_paragraph_and_exit_2_before_the_model_loads(params string[] args)
    {
        // The folder does not exist: the option check comes first, so it is what the user sees.
        var (code, _, error) = Invoke(["trace", Path.Combine(_dir.Path, "nowhere"), "--question", Question, .. args]);

        Assert.Equal(ExitCodes.InvalidSpec, code);
        Assert.Single(error.Trim().Split('\n'));
        Assert.Contains("Fix: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("nowhere", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_reference_set_exits_3_naming_the_file()
    {
        var missing = Path.Combine(_dir.Path, "reference.txt");
        var (code, _, error) = Invoke("trace", Model(), "--question", Question, "--ablate-head", "0:1", "--ablate-mode", "mean",
            "--reference-set", missing);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains(missing, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Mean_ablation_donor_patching_and_kv_ablation_run_from_a_jsonl_reference_set()
    {
        var reference = _dir.Write("reference.jsonl",
            "{\"question\": \"A cat has 4 legs. How many legs do 2 cats have?\"}\nBen has 2 pens.\n");
        var json = Path.Combine(_dir.Path, "trace.json");
        var (code, output, error) = Invoke("trace", Model(), "--question", Question, "--max-new-tokens", "2",
            "--ablate-head", "0:1,1:3", "--ablate-mode", "mean", "--reference-set", reference, "--scope", "latent",
            "--replace-latent", "z2=donor", "--replace-latent", "z4=mean", "--hold-later", "--donor-question", "Ben has 2 pens.",
            "--patch-residual", "z3@1", "--ablate-kv", "1:0:v", "--json", json);

        Assert.True(code == 0, error);
        Assert.Contains("mean over 2 reference prompts (12 positions, latent passes)", output, StringComparison.Ordinal);
        Assert.Contains("KV-group ablation L1 group 0 (values zeroed), in latent passes; it hits query heads 0,1", output, StringComparison.Ordinal);
        var kinds = JsonDocument.Parse(File.ReadAllText(json)).RootElement.GetProperty("interventions").EnumerateArray()
            .Select(i => i.GetProperty("kind").GetString()).ToList();
        Assert.Equal(
            ["head_ablation", "head_ablation", "kv_group_ablation", "latent_replacement", "latent_replacement", "residual_patch"], kinds);
    }
}
