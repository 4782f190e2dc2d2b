using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CodiLab.Models.Architectures;
using CodiLab.Models.Checkpoints;
using CodiLab.Models.Tokenizers;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Cli;

public sealed class CliTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private (int Code, string Out, string Error) Invoke(params string[] args) =>
        CliRun.Invoke(Path.Combine(_dir.Path, "artifacts"), args);

    [Theory]
    [InlineData("doctor")]
    [InlineData("frobnicate")]
    [InlineData("run", "--bogus", "x")]
    [InlineData("bench", "default:tiny-llama", "--problems", "abc")]
    public void Argument_errors_exit_2_with_one_line_each_and_no_help_dump(params string[] args)
    {
        var (code, stdout, error) = Invoke(args);

        Assert.Equal(ExitCodes.InvalidSpec, code);
        Assert.StartsWith("command line: error: ", error, StringComparison.Ordinal);
        Assert.Contains("--help' for the arguments", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Usage:", stdout + error, StringComparison.Ordinal);
    }

    [Fact]
    public void Doctor_on_a_missing_folder_or_a_file_says_so_instead_of_asking_for_config_json()
    {
        var file = _dir.Write("not-a-folder.txt", "x");

        var (missing, _, missingError) = Invoke("doctor", Path.Combine(_dir.Path, "nowhere"));
        var (onFile, _, fileError) = Invoke("doctor", file);

        Assert.Equal(ExitCodes.BadInput, missing);
        Assert.Contains("the model folder does not exist", missingError, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.BadInput, onFile);
        Assert.Contains("this is a file, not a model folder", fileError, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_spec_exits_non_zero_with_position_and_writes_nothing()
    {
        var spec = _dir.Write("bad.yaml", "model:\n  arch: llama\n  dtype: half\n");

        var (code, _, error) = Invoke("run", spec);

        Assert.Equal(ExitCodes.InvalidSpec, code);
        Assert.Contains($"{spec}:3:10: error: 'half' is not one of float32, bfloat16", error, StringComparison.Ordinal);
        Assert.Contains("Fix:", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "artifacts")));
    }

    [Fact]
    public void Run_then_plan_reports_the_default_specs_cached()
    {
        Assert.Equal(0, Invoke("run", "default:tiny-llama").Code);

        var (code, output, _) = Invoke("plan", "--json");

        Assert.Equal(0, code);
        var plans = JsonDocument.Parse(output).RootElement.EnumerateArray().ToList();
        Assert.Equal(["tiny-llama", "tiny-gpt2"], plans.Select(p => p.GetProperty("experiment").GetString()));
        // Both defaults sample the same synthetic set, so the content-addressed entry is shared.
        Assert.All(plans, p => Assert.Equal("cached", p.GetProperty("stages")[0].GetProperty("state").GetString()));
    }

    [Fact]
    public void Verify_exits_with_the_corruption_code_when_an_entry_is_damaged()
    {
        Invoke("run", "default:tiny-llama", "--stage", "sample");
        var entry = Directory.GetDirectories(Path.Combine(_dir.Path, "artifacts", "cache")).Single(d => !Path.GetFileName(d).StartsWith('.'));
        File.AppendAllText(Path.Combine(entry, "dataset.json"), " ");

        var (code, output, error) = Invoke("verify");

        Assert.Equal(ExitCodes.Corrupt, code);
        Assert.Contains("1 corrupt", output, StringComparison.Ordinal);
        Assert.Contains("dataset.json has", error, StringComparison.Ordinal);
        Assert.Equal(0, Invoke("verify").Code);
    }

    [Fact]
    public void Unknown_stage_is_an_invalid_argument()
    {
        var (code, _, error) = Invoke("run", "default:tiny-gpt2", "--stage", "nope");

        Assert.Equal(ExitCodes.InvalidSpec, code);
        Assert.Contains("has no stage 'nope'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Clean_all_removes_experiments_and_cache_but_not_data()
    {
        Invoke("run", "default:tiny-llama");
        Directory.CreateDirectory(Path.Combine(_dir.Path, "artifacts", "data"));

        Assert.Equal(0, Invoke("clean", "--all").Code);

        Assert.Equal(["data"], Directory.GetDirectories(Path.Combine(_dir.Path, "artifacts")).Select(Path.GetFileName));
    }

    [SharedTheory]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-llama")]
    public void Trace_writes_the_reference_layout_and_matches_it(string fixture)
    {
        var folder = TestPaths.Fixture(fixture);
        var referencePath = Path.Combine(folder, "reference.json");
        var reference = JsonDocument.Parse(File.ReadAllText(referencePath)).RootElement.GetProperty("questions")[1];
        var json = Path.Combine(_dir.Path, "trace.json");

        var (code, output, error) = Invoke("trace", folder, "--question", reference.GetProperty("question").GetString()!, "--max-new-tokens", "12", "--json", json);

        Assert.True(code == 0, error);
        Assert.Contains("wrote", output, StringComparison.Ordinal);
        var written = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        Assert.Equal(reference.EnumerateObject().Select(p => p.Name), written.EnumerateObject().Select(p => p.Name));
        var expected = CodiLab.Models.Codi.TraceJson.Read(referencePath)[1];
        var actual = CodiLab.Models.Codi.TraceJson.Read(json)[0];
        Assert.Equal(expected.InputIds, actual.InputIds);
        Assert.Equal(expected.LogitLensTop1, actual.LogitLensTop1);
        Assert.Equal(expected.AnswerIds, actual.AnswerIds);
        Assert.Equal(expected.AnswerText, actual.AnswerText);
        Assert.InRange(CodiLab.Models.Codi.TraceComparison.WorstAttentionDifference(expected, actual), 0, 1e-4);
    }

    [SharedFact]
    public void Inspect_counts_the_stored_tied_head_as_unused()
    {
        var (code, output, error) = Invoke("inspect", TestPaths.Fixture("tiny-llama"), "--checkpoint", "pytorch_model.bin");

        Assert.True(code == 0, error);
        // lm_head.weight is only checked against the embedding, which serves as the head: read, not put into the network.
        Assert.Contains("totals: 55 keys, 54 consumed, 1 unused (26 Parameter, 28 LoraFactor, 1 TiedHead)", output, StringComparison.Ordinal);
        Assert.Contains("lm_head.weight equals the embedding (tied)", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Trace_of_a_missing_folder_exits_3_with_a_fix()
    {
        var (code, _, error) = Invoke("trace", Path.Combine(_dir.Path, "nowhere"), "--question", "1+1?");

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("the model folder does not exist. Fix:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_counts_a_dropped_legacy_buffer_as_unused()
    {
        var model = Path.Combine(_dir.Path, "tiny");
        Assert.Equal(0, Invoke("make-model", "--arch", "gpt2", "--seed", "5", "--out", model).Code);
        var before = Totals(Invoke("inspect", model).Out);
        // An older transformers version saved attn.masked_bias (a float scalar) with the weights; the loader drops it.
        var checkpoint = Path.Combine(model, "model.safetensors");
        var tensors = new Dictionary<string, RawTensor>(SafeTensors.Read(checkpoint), StringComparer.Ordinal)
        {
            ["codi.base_model.model.transformer.h.0.attn.masked_bias"] = new(StoredType.Float32, [], BitConverter.GetBytes(-1e4f)),
        };
        SafeTensors.Write(checkpoint, tensors);

        var (code, output, error) = Invoke("inspect", model);

        Assert.True(code == 0, error);
        var after = Totals(output);
        Assert.Equal((before.Keys + 1, before.Consumed, before.Unused + 1), after);
        Assert.Equal(after.Keys, after.Consumed + after.Unused);
        Assert.Matches(@"h\.0\.attn\.masked_bias\s+Float32\s+LegacyBuffer", output);
    }

    private static (int Keys, int Consumed, int Unused) Totals(string output)
    {
        var m = System.Text.RegularExpressions.Regex.Match(output, @"^totals: (\d+) keys, (\d+) consumed, (\d+) unused", System.Text.RegularExpressions.RegexOptions.Multiline);
        Assert.True(m.Success, output);
        return (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
            int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Make_model_then_trace_writes_a_consistent_trace()
    {
        const string question = "What is 3 plus 4?";
        var model = Path.Combine(_dir.Path, "tiny");
        var json = Path.Combine(_dir.Path, "trace.json");
        Assert.Equal(0, Invoke("make-model", "--arch", "gpt2", "--seed", "3", "--out", model).Code);

        var (code, output, error) = Invoke("trace", model, "--question", question, "--max-new-tokens", "3", "--json", json);

        Assert.True(code == 0, error);
        Assert.Contains("logit lens [", output, StringComparison.Ordinal);
        var config = ModelConfig.Read(model);
        var tokenizer = CodiTokenizer.Load(model, config.Arch, config.VocabSize);
        var trace = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        var inputIds = trace.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32()).ToList();
        // The prompt is the question as the folder's tokenizer encodes it, then BOT (= vocab size + 1).
        Assert.Equal([.. tokenizer.Encode(question), config.VocabSize + 1], inputIds);
        var attention = trace.GetProperty("attention");
        Assert.Equal(["bot", "z1", "z2", "z3", "z4", "z5", "z6"], attention.EnumerateObject().Select(p => p.Name));
        foreach (var (query, step) in attention.EnumerateObject().Select((p, k) => (p, k)))
        {
            var layers = query.Value.EnumerateArray().ToList();
            Assert.Equal(config.Layers, layers.Count);
            foreach (var row in layers.SelectMany(heads => heads.EnumerateArray()))
            {
                // Each query attends to every key up to itself: the prompt, then one more per continuous thought.
                var values = row.EnumerateArray().Select(v => v.GetDouble()).ToList();
                Assert.Equal(inputIds.Count + step, values.Count);
                Assert.All(values, v => Assert.InRange(v, 0, 1));
                Assert.InRange(values.Sum(), 1 - 1e-5, 1 + 1e-5);
            }
            Assert.All(layers, heads => Assert.Equal(config.Heads, heads.GetArrayLength()));
        }
        var norms = trace.GetProperty("latent_norms").EnumerateArray().Select(v => v.GetDouble()).ToList();
        Assert.Equal(6, norms.Count);
        Assert.All(norms, n => Assert.True(double.IsFinite(n) && n > 0, $"latent norm {n}"));
        Assert.Equal(7, trace.GetProperty("logit_lens_top1").GetArrayLength());
        Assert.InRange(trace.GetProperty("answer_ids").GetArrayLength(), 1, 3);
    }

    [SharedFact]
    public void Parity_checks_every_reference_question()
    {
        var (code, output, error) = Invoke("parity", TestPaths.Fixture("tiny-gpt2"), "--checkpoint", "pytorch_model.bin");

        Assert.True(code == 0, error + output);
        Assert.Contains("8/8 questions match (float32 on cpu)", output, StringComparison.Ordinal);
        Assert.DoesNotContain("FAIL", output, StringComparison.Ordinal);
    }

    [SharedFact]
    public void Parity_fails_with_exit_1_and_names_the_question_that_differs()
    {
        var folder = TestPaths.Fixture("tiny-gpt2");
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "reference.json")))!;
        var answer = root["questions"]![2]!["answer_ids"]!.AsArray();
        answer[0] = answer[0]!.GetValue<int>() + 1;
        var reference = _dir.Write("reference.json", root.ToJsonString());

        var (code, output, _) = Invoke("parity", folder, "--checkpoint", "pytorch_model.bin", "--reference", reference);

        Assert.Equal(ExitCodes.Failure, code);
        Assert.Contains("question 2: input ids equal, logit lens equal, answer ids DIFFER, worst attention difference", output, StringComparison.Ordinal);
        Assert.Single(output.Split('\n'), line => line.Contains("<-- FAIL", StringComparison.Ordinal));
        Assert.Contains("7/8 questions match (float32 on cpu)", output, StringComparison.Ordinal);
    }
}
