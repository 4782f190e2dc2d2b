using System.Text.Json.Nodes;
using CodiLab.Cli;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Cli;

/// <summary>
/// Bad input of every kind ends in one paragraph (what, where, how to fix) and a documented exit code, never a stack trace,
/// an "internal error" or a hang.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private (int Code, string Out, string Error) Invoke(params string[] args) =>
        CliRun.Invoke(Path.Combine(_dir.Path, "artifacts"), args);

    private static void OneParagraph(string error, int code, int expected)
    {
        Assert.Equal(expected, code);
        Assert.DoesNotContain("internal error", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.Contains("Fix: ", error, StringComparison.Ordinal);
    }

    // A generated model folder whose config.json is then changed by `edit`.
    private string Model(string arch, Action<JsonObject>? edit = null)
    {
        var folder = Path.Combine(_dir.Path, $"{arch}-{Guid.NewGuid():N}");
        Assert.Equal(0, Invoke("make-model", "--arch", arch, "--out", folder).Code);
        if (edit is null) return folder;
        var path = Path.Combine(folder, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
        return folder;
    }

    [Fact]
    public void Seed_above_int_max_with_a_generated_model_is_a_spec_error_at_the_seed_line()
    {
        var spec = _dir.Write("big.yaml",
            "name: big\nseed: 3000000000\nmodel:\n  arch: gpt2\n  source: generated\n"
            + "dataset:\n  source: synthetic\n  size: 20\n  sample: 4\n");

        var (code, _, error) = Invoke("run", spec);
        var (_, plan, _) = Invoke("plan", spec);

        OneParagraph(error, code, ExitCodes.InvalidSpec);
        Assert.StartsWith($"{spec}:2:", error, StringComparison.Ordinal);
        Assert.Contains("seed 3000000000 is above 2147483647", error, StringComparison.Ordinal);
        Assert.Matches(@"Phase1  model +blocked: seed 3000000000 is above 2147483647", plan);
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "artifacts", "big", "Phase1")));
    }

    [Theory]
    [InlineData("gpt2", "n_head", 0, "n_head is 0; it must be at least 1")]
    [InlineData("gpt2", "n_head", 5, "the hidden size 64 is not a multiple of the head count 5 (n_head)")]
    [InlineData("llama", "num_attention_heads", 0, "num_attention_heads is 0; it must be at least 1")]
    [InlineData("llama", "num_key_value_heads", 3, "the head count 4 is not a multiple of the key/value head count 3")]
    public void Config_heads_that_do_not_fit_the_hidden_size_are_refused_before_loading(
        string arch, string field, int value, string message)
    {
        var folder = Model(arch, c =>
        {
            c[field] = value;
            c.Remove("head_dim"); // derived from the heads, as in GPT-2
        });

        var (code, _, error) = Invoke("inspect", folder);

        OneParagraph(error, code, ExitCodes.BadInput);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.StartsWith(Path.Combine(folder, "config.json"), error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("beyond")]
    [InlineData("skipping")]
    public void Tiktoken_ranks_outside_the_vocabulary_are_refused(string fault)
    {
        var folder = Model("llama");
        var ranks = Path.Combine(folder, "original", "tokenizer.model");
        var lines = File.ReadAllLines(ranks);
        if (fault == "beyond") lines[4] = lines[4][..lines[4].LastIndexOf(' ')] + " 9000";
        else lines = [.. lines, $"{Convert.ToBase64String("zz"u8.ToArray())} {lines.Length + 5}"];
        File.WriteAllLines(ranks, lines);

        var (code, _, error) = Invoke("trace", folder, "--question", "1+1?", "--max-new-tokens", "1");

        OneParagraph(error, code, ExitCodes.BadInput);
        Assert.StartsWith(ranks, error, StringComparison.Ordinal);
        Assert.Contains(fault == "beyond" ? "line 5 gives id 9000, outside the vocabulary" : "the ranks skip ids", error,
            StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("[]")]
    [InlineData("{\"experiment\": \"tiny-gpt2\", \"spec\": \"x\", \"stages\": {\"sample\": {}}}")]
    [InlineData("{\"experiment\": \"tiny-gpt2\", \"spec\": \"x\", \"stages\": {\"sample\": null}}")]
    [InlineData("{\"experiment\": \"tiny-gp")]
    public void Malformed_lock_file_is_reported_as_corrupt_by_plan_run_and_verify(string text)
    {
        var lockFile = _dir.Write(Path.Combine("artifacts", "tiny-gpt2", "lock.json"), text);

        foreach (var verb in new[] { "plan", "run" })
        {
            var (code, _, error) = Invoke(verb, "default:tiny-gpt2");
            OneParagraph(error, code, ExitCodes.Corrupt);
            Assert.StartsWith($"{lockFile}: error: the lock file is unreadable", error, StringComparison.Ordinal);
        }
        var (verify, _, verifyError) = Invoke("verify");
        Assert.Equal(ExitCodes.Corrupt, verify);
        Assert.Contains($"{lockFile}: error: the lock file is unreadable", verifyError, StringComparison.Ordinal);
    }

    [Fact]
    public void Blank_artifacts_folder_or_a_file_in_its_place_is_refused()
    {
        var file = _dir.Write("artifacts-file", "x");
        var stderr = new StringWriter();
        var blankCode = CodiLabCommand.Invoke(["plan", "default:tiny-gpt2", "--artifacts", " "], new StringWriter(), stderr);
        var blankError = stderr.ToString();
        stderr = new StringWriter();
        var fileCode = CodiLabCommand.Invoke(["plan", "default:tiny-gpt2", "--artifacts", file], new StringWriter(), stderr);

        OneParagraph(blankError, blankCode, ExitCodes.InvalidSpec);
        Assert.Contains("--artifacts is set but empty", blankError, StringComparison.Ordinal);
        OneParagraph(stderr.ToString(), fileCode, ExitCodes.BadInput);
        Assert.Contains($"the artifacts folder {file} is a file", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Trace_past_the_models_positions_is_refused_before_it_runs_and_says_what_fits()
    {
        var folder = Model("gpt2"); // n_positions 1024
        var json = Path.Combine(_dir.Path, "trace.json");

        var (code, _, error) = Invoke("trace", folder, "--question", "1+1?", "--max-new-tokens", "2000", "--json", json);

        OneParagraph(error, code, ExitCodes.InvalidSpec);
        Assert.Contains("the trace needs 2011 positions (5 prompt tokens, 6 thoughts, --max-new-tokens 2000) but the model has 1024 "
            + "(n_positions in config.json); at most 1013 answer tokens fit", error, StringComparison.Ordinal);
        Assert.False(File.Exists(json));
    }

    [Theory]
    [InlineData("bench", "default:tiny-gpt2", "--problems", "-3")]
    [InlineData("bench", "default:tiny-gpt2", "--problems", "0")]
    [InlineData("bench", "default:tiny-gpt2", "--batch-size", "0")]
    [InlineData("bench", "default:tiny-gpt2", "--peer", "/no/such/peer.log")]
    [InlineData("trace", "/no/model", "--question", "x", "--max-new-tokens", "-1")]
    [InlineData("trace", "/no/model", "--question", "x", "--num-latent", "-1")]
    [InlineData("run", "default:tiny-gpt2", "--wait", "-1")]
    public void Options_out_of_range_are_argument_errors_not_hangs(params string[] args)
    {
        var (code, _, error) = Invoke(args);

        Assert.Equal(ExitCodes.InvalidSpec, code);
        Assert.StartsWith($"command line: error: {args[^2]} {args[^1]} ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Running_a_phase_the_spec_does_not_list_is_an_error_not_a_silent_success()
    {
        var spec = _dir.Write("p1only.yaml", "extends: default:tiny-gpt2\nname: p1only\nphases: [Phase1]\n");

        var (code, output, error) = Invoke("run", spec, "--phase", "Phase4");

        OneParagraph(error, code, ExitCodes.InvalidSpec);
        Assert.Contains("does not list Phase4 under 'phases:' (it runs Phase1)", error, StringComparison.Ordinal);
        Assert.Equal("", output);
    }

    [Theory]
    [InlineData("experiments")]
    [InlineData("site")]
    public void Experiments_and_site_refuse_a_pins_folder_that_is_a_file_or_missing(string verb)
    {
        var file = _dir.Write("pins.txt", "a file, not a folder");

        var (fileCode, _, fileError) = Invoke(verb, "--pins", file);
        var (missingCode, _, missingError) = Invoke(verb, "--pins", Path.Combine(_dir.Path, "no-such-pins"));

        OneParagraph(fileError, fileCode, ExitCodes.BadInput);
        Assert.Contains("is a file", fileError, StringComparison.Ordinal);
        OneParagraph(missingError, missingCode, ExitCodes.BadInput);
        Assert.Contains("does not exist", missingError, StringComparison.Ordinal);
    }

    [Fact]
    public void An_output_path_that_cannot_be_written_is_bad_input_not_a_bug()
    {
        var folder = Model("gpt2");
        var file = _dir.Write("plain.txt", "a file, not a folder");

        var (code, _, error) = Invoke("trace", folder, "--question", "2+3?", "--max-new-tokens", "1", "--json", Path.Combine(file, "x.json"));

        OneParagraph(error, code, ExitCodes.BadInput);
        Assert.Contains("Fix: check the path and its permissions", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parity_with_a_truncated_or_incomplete_reference_names_the_file()
    {
        var folder = Model("gpt2");
        var whole = Path.Combine(_dir.Path, "whole.json");
        Assert.Equal(0, Invoke("trace", folder, "--question", "2+3?", "--max-new-tokens", "2", "--json", whole).Code);
        var truncated = _dir.Write("truncated.json", File.ReadAllText(whole)[..300]);
        var incomplete = _dir.Write("incomplete.json", "{\"questions\": [{\"question\": \"x\"}]}");

        foreach (var reference in new[] { truncated, incomplete })
        {
            var (code, _, error) = Invoke("parity", folder, "--reference", reference);
            OneParagraph(error, code, ExitCodes.BadInput);
            Assert.Contains($"{reference}: error: the trace file cannot be read", error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("tpu", ExitCodes.InvalidSpec, "device 'tpu' is not supported")]
    public void Unknown_device_is_named(string device, int expected, string message)
    {
        var (code, _, error) = Invoke("trace", Model("gpt2"), "--question", "x", "--device", device);

        OneParagraph(error, code, expected);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }
}
