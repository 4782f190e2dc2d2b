using System.Text.Json.Nodes;
using CodiLab.Models;
using CodiLab.Models.Checkpoints;
using CodiLab.Models.Codi;
using CodiLab.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace CodiLab.Tests.Models;

/// <summary><c>doctor</c>: passes on the fixtures, a Llama-3.x-style folder and generated models; names the check, the problem and the fix on broken folders.</summary>
public sealed class DoctorTests(ITestOutputHelper output)
{
    private const string GptEmbedding = "codi.base_model.model.transformer.wte.weight";
    private const string LlamaEmbedding = "codi.base_model.model.model.embed_tokens.weight";

    private static DoctorReport Run(string folder, DoctorOptions? options = null)
    {
        TorchRuntime.Initialize();
        return ModelDoctor.Run(folder, options);
    }

    private void AssertPasses(DoctorReport report)
    {
        foreach (var line in report.ToLines()) output.WriteLine(line);
        Assert.True(report.Ok, string.Join("\n", report.ToLines()));
        Assert.Equal(["config", "config fields", "checkpoint dtypes", "lora", "checkpoint keys", "appended rows", "weights finite", "tokenizer", "eos", "trace"],
            report.Checks.Select(c => c.Name));
        Assert.All(report.Checks, c => Assert.Equal(CheckStatus.Pass, c.Status));
    }

    [SharedTheory]
    [InlineData("tiny-llama", "start token 480 <|begin_of_text|>")]
    [InlineData("tiny-gpt2", "no start token")]
    public void Doctor_passes_on_both_fixtures(string fixture, string start)
    {
        var report = Run(TestPaths.Fixture(fixture));
        AssertPasses(report);
        Assert.Contains(start, report["tokenizer"]!.Detail, StringComparison.Ordinal);
        Assert.Contains("sums within", report["trace"]!.Detail, StringComparison.Ordinal);
    }

    [SharedFact]
    public void Doctor_passes_on_a_llama3_style_folder_and_shows_where_the_start_token_came_from()
    {
        using var folder = Llama3Folders.FixtureCopy();
        folder.Write("generation_config.json", """{"bos_token_id": 480, "eos_token_id": [481, 488, 489]}""");
        var report = Run(folder.Path);
        AssertPasses(report);
        Assert.Contains("post_processor.processors[1] (TemplateProcessing)", report["tokenizer"]!.Detail, StringComparison.Ordinal);
        Assert.Contains("original/tokenizer.model gives the same ids", report["tokenizer"]!.Detail, StringComparison.Ordinal);
        Assert.Contains("torch_dtype bfloat16, pretraining_tp 1, transformers 4.45.0.dev0", report["config fields"]!.Detail, StringComparison.Ordinal);
        Assert.Contains("input_ids[0] = 480 <|begin_of_text|>", report["trace"]!.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("gpt2")]
    public void Doctor_passes_on_generated_models(string arch)
    {
        TorchRuntime.Initialize();
        using var folder = new TempFolder();
        TinyModel.Write(arch, 42, folder.Path);
        var report = Run(folder.Path);
        AssertPasses(report);
        Assert.Contains(arch == "llama" ? "tokenizer.model; start token 512" : "vocab.json; no start token", report["tokenizer"]!.Detail, StringComparison.Ordinal);
    }

    /// <summary>A broken folder, the check that must fail first and a phrase its detail must hold.</summary>
    public static TheoryData<string, string, string> Broken => new()
    {
        { "missing-key", "checkpoint keys", "transformer.h.1.ln_2.weight" },
        { "unexpected-key", "checkpoint keys", "transformer.h.2.ln_1.weight" },
        { "wrong-shape", "checkpoint keys", "[32]" },
        { "integer-dtype", "checkpoint dtypes", "Int64" },
        { "nan-in-appended-row", "appended rows", "row 497 (bot) holds 64 NaN" },
        { "base-embedding-without-rows", "appended rows", "not a CODI checkpoint" },
        { "nan-in-a-weight", "weights finite", "transformer.ln_f.weight" },
        { "lora-rank-mismatch", "lora", "rank 128 but codi.json says r = 64" },
        { "tokenizer-missing", "tokenizer", "no tokenizer files found" },
        { "no-start-token", "tokenizer", "names no start token" },
        { "bos-disagrees", "tokenizer", "bos_token_id is 7" },
        { "tokenizer-files-disagree", "tokenizer", "encode the sample differently" },
        { "heads-not-dividing-hidden", "config", "not a multiple of the head count 5" },
        { "config-missing", "config", "config.json is missing" },
        { "untied-head", "config fields", "tie_word_embeddings is false" },
        { "eos-not-in-tokenizer", "eos", "name 7" },
        { "checkpoint-missing", "checkpoint dtypes", "neither model.safetensors nor pytorch_model.bin" },
    };

    [SharedTheory]
    [MemberData(nameof(Broken))]
    public void Doctor_fails_clearly_on_a_broken_folder(string name, string check, string phrase)
    {
        using var folder = BrokenFolder(name);
        var report = Run(folder.Path);
        foreach (var line in report.ToLines()) output.WriteLine(line);

        Assert.False(report.Ok);
        var failed = report.Failed[0];
        Assert.Equal(check, failed.Name);
        Assert.Contains(phrase, failed.Detail, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(failed.Fix));
        // Whatever needs the failed check is skipped, not run on a broken basis.
        Assert.All(report.Checks.SkipWhile(c => c.Name != check).Skip(1).Where(c => c.Status == CheckStatus.Skipped),
            c => Assert.StartsWith("not run: needs", c.Detail, StringComparison.Ordinal));
        Assert.Contains(report.ToLines(), l => l.Contains("fix: " + failed.Fix, StringComparison.Ordinal));
    }

    private static TempFolder BrokenFolder(string name) => name switch
    {
        "missing-key" => Gpt2(t => t.Remove("codi.base_model.model.transformer.h.1.ln_2.weight")),
        "unexpected-key" => Gpt2(t => t["codi.base_model.model.transformer.h.2.ln_1.weight"] = t["codi.base_model.model.transformer.h.0.ln_1.weight"]),
        "wrong-shape" => Gpt2(t => t["codi.base_model.model.transformer.ln_f.weight"] = Slice(t["codi.base_model.model.transformer.ln_f.weight"], 32)),
        "integer-dtype" => Gpt2(t => t["prj.ln.bias"] = new RawTensor(StoredType.Int64, t["prj.ln.bias"].Shape, new byte[t["prj.ln.bias"].Count * 8])),
        "nan-in-appended-row" => Llama(t => t[LlamaEmbedding] = WithNaN(t[LlamaEmbedding], 497)),
        "base-embedding-without-rows" => Llama(t => t[LlamaEmbedding] = Slice(t[LlamaEmbedding], 496)),
        "nan-in-a-weight" => Gpt2(t => t["codi.base_model.model.transformer.ln_f.weight"] = WithNaN(t["codi.base_model.model.transformer.ln_f.weight"], 0)),
        "lora-rank-mismatch" => Edit(Gpt2(null), "codi.json", j => j["lora_r"] = 64),
        "tokenizer-missing" => Delete(Gpt2(null), "vocab.json", "merges.txt"),
        "no-start-token" => NoStartToken(),
        "bos-disagrees" => Edit(Llama(null), "config.json", j => j["bos_token_id"] = 7),
        "tokenizer-files-disagree" => SwappedRanks(),
        "heads-not-dividing-hidden" => Edit(Gpt2(null), "config.json", j => j["n_head"] = 5),
        "config-missing" => Delete(Gpt2(null), "config.json"),
        "untied-head" => Edit(Llama(null), "config.json", j => j["tie_word_embeddings"] = false),
        "eos-not-in-tokenizer" => Edit(Gpt2(null), "config.json", j => j["eos_token_id"] = 7),
        "checkpoint-missing" => Delete(Gpt2(null), "model.safetensors"),
        _ => throw new ArgumentException(name),
    };

    private static TempFolder Gpt2(Action<Dictionary<string, RawTensor>>? edit) =>
        Copy("tiny-gpt2", ["config.json", "vocab.json", "merges.txt", "codi.json"], edit);

    private static TempFolder Llama(Action<Dictionary<string, RawTensor>>? edit) =>
        Copy("tiny-llama", ["config.json", "tokenizer.json", "original/tokenizer.model", "codi.json"], edit);

    private static TempFolder Copy(string fixture, string[] files, Action<Dictionary<string, RawTensor>>? edit)
    {
        var source = TestPaths.Fixture(fixture);
        var folder = new TempFolder();
        foreach (var file in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(folder.Path, file))!);
            File.Copy(Path.Combine(source, file), Path.Combine(folder.Path, file));
        }
        var tensors = new Dictionary<string, RawTensor>(SafeTensors.Read(Path.Combine(source, "model.safetensors")), StringComparer.Ordinal);
        edit?.Invoke(tensors);
        SafeTensors.Write(Path.Combine(folder.Path, "model.safetensors"), tensors);
        return folder;
    }

    private static TempFolder Edit(TempFolder folder, string file, Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(folder.Path, file)))!.AsObject();
        edit(json);
        folder.Write(file, json.ToJsonString());
        return folder;
    }

    private static TempFolder Delete(TempFolder folder, params string[] files)
    {
        foreach (var file in files) File.Delete(Path.Combine(folder.Path, file));
        return folder;
    }

    private static TempFolder NoStartToken()
    {
        var folder = Delete(Llama(null), "original/tokenizer.model");
        return Edit(folder, "tokenizer.json", j => j["post_processor"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["use_regex"] = true });
    }

    // Ranks 272 (" b") and 323 ("ak"), both in the sample question, swapped: a tokenizer.model from "another model".
    private static TempFolder SwappedRanks()
    {
        var folder = Llama(null);
        var path = Path.Combine(folder.Path, "original", "tokenizer.model");
        var lines = File.ReadAllLines(path);
        (lines[272], lines[323]) = (lines[323].Split(' ')[0] + " 272", lines[272].Split(' ')[0] + " 323");
        File.WriteAllLines(path, lines);
        return folder;
    }

    // The first `rows` entries along dimension 0.
    private static RawTensor Slice(RawTensor t, int rows)
    {
        var rowBytes = (int)(t.Count / t.Shape[0]) * RawTensor.SizeOf(t.Type);
        return new RawTensor(t.Type, [rows, .. t.Shape[1..]], t.Data[..(rows * rowBytes)]);
    }

    // Row `row` (or element `row` of a vector) set to NaN, stored as float32.
    private static RawTensor WithNaN(RawTensor t, int row)
    {
        TorchRuntime.Initialize();
        using var value = t.ToTensor();
        if (value.dim() == 1) value[row] = float.NaN;
        else value[row] = TorchSharp.torch.full(value.shape[1], float.NaN);
        return RawTensor.FromTensor(value);
    }
}
