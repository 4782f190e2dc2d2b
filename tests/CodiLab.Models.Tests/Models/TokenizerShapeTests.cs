using System.Text.Json;
using System.Text.Json.Nodes;
using CodiLab.Models;
using CodiLab.Models.Codi;
using CodiLab.Models.Tokenizers;
using CodiLab.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace CodiLab.Tests.Models;

/// <summary>A fact over all GSM8K train questions: skipped, with the reason, when the data root lacks them (never in CI).</summary>
public sealed class Gsm8kTrainFactAttribute : FactAttribute
{
    /// <summary>Sets Skip (and a display name carrying the reason) when gsm8k/train.jsonl is absent outside CI.</summary>
    public Gsm8kTrainFactAttribute(
        [System.Runtime.CompilerServices.CallerMemberName] string test = "", [System.Runtime.CompilerServices.CallerFilePath] string file = "")
    {
        if (Environment.GetEnvironmentVariable("CI") == "true") return;
        if (TestPaths.Shared is null && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CODILAB_DATA_DIR")))
            Skip = "no data root: ../shared is not beside this clone and CODILAB_DATA_DIR is unset, so gsm8k/train.jsonl is absent";
        else if (!File.Exists(Path.Combine(TestPaths.SharedData, "gsm8k", "train.jsonl")))
            Skip = $"{Path.Combine(TestPaths.SharedData, "gsm8k", "train.jsonl")} is absent (./build.sh --target=FetchData downloads it)";
        if (Skip is not null) DisplayName = TestPaths.SkippedName(file, test, Skip);
    }
}

/// <summary>
/// Llama-3.x tokenizer.json files as Meta ships them: the start token nested in a Sequence post-processor,
/// ignore_merges, the config.json fallback and the loud failure, one EOS rule on every path.
/// </summary>
public sealed class TokenizerShapeTests(ITestOutputHelper output)
{
    private static IEnumerable<string> TrainQuestions() =>
        File.ReadLines(Path.Combine(TestPaths.SharedData, "gsm8k", "train.jsonl")).Where(l => l.Length > 0)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("question").GetString()!);

    [SharedFact]
    public void A_nested_sequence_post_processor_still_gives_the_start_token()
    {
        using var folder = new TempFolder();
        folder.Write("tokenizer.json", Llama3Folders.Restructure(Llama3Folders.FixtureTokenizer()).ToJsonString());
        var tokenizer = CodiTokenizer.Load(folder.Path, "llama", 496);
        Assert.Equal(480, tokenizer.Bos);
        Assert.Equal("<|begin_of_text|>", tokenizer.Start!.Text);
        Assert.Contains("post_processor.processors[1] (TemplateProcessing)", tokenizer.Start.Source, StringComparison.Ordinal);
        Assert.True(tokenizer.IgnoresMerges);
        foreach (var reference in TraceJson.Read(Path.Combine(TestPaths.Fixture("tiny-llama"), "reference.json")))
            Assert.Equal(reference.InputIds.SkipLast(1), tokenizer.Encode(reference.Question));
    }

    [Gsm8kTrainFact]
    public void Tokenizer_json_and_tokenizer_model_in_one_folder_give_identical_ids_on_every_gsm8k_train_question()
    {
        // The fixture's pair (its own 480-token vocabulary) and a generated model's (the first 512 cl100k ranks,
        // Llama-3's own merges) with a tokenizer.json converted from the ranks.
        TorchRuntime.Initialize();
        using var fixture = Llama3Folders.FixtureCopy();
        using var generated = new TempFolder();
        TinyModel.Write("llama", 42, generated.Path);
        generated.Write("tokenizer.json", Llama3Folders.FromRanks(Path.Combine(generated.Path, "original", "tokenizer.model"), 768).ToJsonString());
        var questions = TrainQuestions().Select(CodiTokenizer.NormalizeQuestion).ToList();
        Assert.Equal(7473, questions.Count);
        foreach (var (folder, vocab, bos) in new[] { (fixture.Path, 496, 480), (generated.Path, 768, 512) })
        {
            var fromJson = CodiTokenizer.Load(folder, "llama", vocab);
            var fromRanks = CodiTokenizer.LoadRanks(folder, vocab)!;
            Assert.EndsWith("tokenizer.json", fromJson.Source, StringComparison.Ordinal);
            Assert.EndsWith("tokenizer.model", fromRanks.Source, StringComparison.Ordinal);
            var tokens = 0L;
            foreach (var q in questions)
            {
                var ids = fromJson.Encode(q);
                Assert.Equal(bos, ids[0]);
                Assert.Equal(ids, fromRanks.Encode(q));
                tokens += ids.Count;
            }
            Assert.Equal(fromJson.Eos, fromRanks.Eos);
            output.WriteLine($"{Path.GetFileName(folder)} (vocab {vocab}): {questions.Count} questions, {tokens} ids, identical on both paths, all starting with {bos}");
        }
    }

    [SharedFact]
    public void Ignore_merges_keeps_a_word_that_is_a_vocabulary_entry_whole()
    {
        // " the" is an entry (Ġthe); with the merges that build it removed, only ignore_merges still yields it.
        var json = Llama3Folders.Restructure(Llama3Folders.FixtureTokenizer());
        var vocab = json["model"]!["vocab"]!.AsObject();
        var whole = vocab["Ġthe"]!.GetValue<int>();
        var merges = json["model"]!["merges"]!.AsArray();
        foreach (var m in merges.Where(m => m![0]!.GetValue<string>() + m[1]!.GetValue<string>() == "Ġthe").ToList()) merges.Remove(m);
        using var folder = new TempFolder();
        Directory.CreateDirectory(Path.Combine(folder.Path, "original"));
        File.Copy(Path.Combine(TestPaths.Fixture("tiny-llama"), "original", "tokenizer.model"), Path.Combine(folder.Path, "original", "tokenizer.model"));
        folder.Write("tokenizer.json", json.ToJsonString());
        var ignoring = CodiTokenizer.Load(folder.Path, "llama", 496);
        json["model"]!["ignore_merges"] = false;
        folder.Write("tokenizer.json", json.ToJsonString());
        var merging = CodiTokenizer.Load(folder.Path, "llama", 496);
        var ranks = CodiTokenizer.LoadRanks(folder.Path, 496)!;

        Assert.Equal([480, whole], ignoring.Encode(" the"));
        Assert.Equal([480, whole], ranks.Encode(" the")); // tiktoken looks whole pieces up first, too
        var merged = merging.Encode(" the");
        Assert.True(merged.Count > 2, $"without ignore_merges ' the' should split, got [{string.Join(", ", merged)}]");
        Assert.Equal(ranks.Encode("How many of the eggs are left?"), ignoring.Encode("How many of the eggs are left?"));
    }

    [SharedFact]
    public void A_llama_tokenizer_with_no_start_token_anywhere_fails_loudly()
    {
        var json = Llama3Folders.FixtureTokenizer();
        json["post_processor"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true };
        using var folder = new TempFolder();
        folder.Write("tokenizer.json", json.ToJsonString());

        var e = Assert.Throws<ModelFormatException>(() => CodiTokenizer.Load(folder.Path, "llama", 496));
        Assert.Equal(CodiLab.ExitCodes.BadInput, e.ExitCode);
        Assert.Contains("no start token", e.What, StringComparison.Ordinal);
        Assert.Contains("bos_token_id", e.Fix, StringComparison.Ordinal);
        Assert.EndsWith("tokenizer.json", e.Where, StringComparison.Ordinal);

        // Through a whole model folder too: config.json without bos_token_id cannot rescue it.
        TorchRuntime.Initialize();
        using var model = Llama3Folders.FixtureCopy(realConfig: false);
        File.Delete(Path.Combine(model.Path, "original", "tokenizer.model"));
        model.Write("tokenizer.json", json.ToJsonString());
        Assert.Contains("no start token", Assert.Throws<ModelFormatException>(() => CodiModel.Load(model.Path).Dispose()).What, StringComparison.Ordinal);

        // Ranks with no specials after them name none either.
        Directory.CreateDirectory(Path.Combine(folder.Path, "original"));
        File.Copy(Path.Combine(TestPaths.Fixture("tiny-llama"), "original", "tokenizer.model"), Path.Combine(folder.Path, "original", "tokenizer.model"));
        File.Delete(Path.Combine(folder.Path, "tokenizer.json"));
        Assert.Contains("no start token", Assert.Throws<ModelFormatException>(() => CodiTokenizer.Load(folder.Path, "llama", 480)).What, StringComparison.Ordinal);
    }

    [SharedFact]
    public void Config_bos_token_id_is_the_fallback_start_token()
    {
        var json = Llama3Folders.FixtureTokenizer();
        json.Remove("post_processor");
        TorchRuntime.Initialize();
        using var folder = Llama3Folders.FixtureCopy(realConfig: true);
        File.Delete(Path.Combine(folder.Path, "original", "tokenizer.model"));
        folder.Write("tokenizer.json", json.ToJsonString());
        using var model = CodiModel.Load(folder.Path);
        Assert.Equal(480, model.Tokenizer.Bos);
        Assert.Equal("<|begin_of_text|>", model.Tokenizer.Start!.Text);
        Assert.Contains("bos_token_id", model.Tokenizer.Start.Source, StringComparison.Ordinal);
        Assert.Equal(480, model.Trace("How many eggs?", maxNewTokens: 1).InputIds[0]);
    }

    [SharedFact]
    public void A_llama3_style_folder_traces_from_the_start_token_and_matches_the_reference_rows()
    {
        TorchRuntime.Initialize();
        using var folder = Llama3Folders.FixtureCopy();
        using var model = CodiModel.Load(folder.Path);
        var fields = BaseModelFields.Read(folder.Path);
        Assert.Equal((480, "bfloat16", 1, "4.45.0.dev0"), (fields.BosTokenId!.Value, fields.TorchDtype, fields.PretrainingTp!.Value, fields.TransformersVersion));
        Assert.Equal([481, 488, 489], fields.ConfigEos);
        Assert.NotNull(model.Loaded.Config.Rope); // rope_scaling llama3 read beside the new fields
        Assert.EndsWith("tokenizer.json", model.Tokenizer.Source, StringComparison.Ordinal);

        var worst = 0.0;
        var references = TraceJson.Read(Path.Combine(folder.Path, "reference.json"));
        foreach (var reference in references)
        {
            var trace = model.TraceIds(reference.Question, model.PromptIdsAsGiven(reference.Question), reference.AnswerIds.Count);
            Assert.Equal(480, trace.InputIds[0]);
            Assert.Equal(reference.InputIds, trace.InputIds);
            Assert.Equal(reference.AnswerIds, trace.AnswerIds);
            worst = Math.Max(worst, TraceComparison.WorstAttentionDifference(reference, trace));
        }
        output.WriteLine($"{references.Count} reference questions, worst attention difference {worst:E2}");
        Assert.InRange(worst, 0, ParityTests.AttentionTolerance);
    }

    [SharedFact]
    public void One_eos_rule_on_every_path()
    {
        TorchRuntime.Initialize();
        using var folder = Llama3Folders.FixtureCopy();
        folder.Write("generation_config.json", """{"bos_token_id": 480, "eos_token_id": [481, 488, 489], "transformers_version": "4.45.0.dev0"}""");
        var fields = BaseModelFields.Read(folder.Path);
        var fromJson = CodiTokenizer.Load(folder.Path, "llama", 496, fields.ConfigStart);
        var fromRanks = CodiTokenizer.LoadRanks(folder.Path, 496, fields.ConfigStart)!;
        var a = EosRule.Resolve(null, fromJson, fields, folder.Path);
        var b = EosRule.Resolve(null, fromRanks, fields, folder.Path);
        Assert.Equal([481, 488, 489], a.Ids);
        Assert.Equal(a.Ids, b.Ids);
        Assert.Contains("end tokens", a.Source, StringComparison.Ordinal);
        using (var model = CodiModel.Load(folder.Path))
        {
            Assert.Equal(a.Ids, model.Ids.Eos);
            Assert.Equal(a.Source, model.Ids.EosSource);
        }
        Assert.Equal([489], EosRule.Resolve([489], fromJson, fields, folder.Path).Ids); // --eos / model.eos win

        // Llama-3.0 files name slot +8 <|reserved_special_token_4|> (3.1+: <|eom_id|>): the same ids all the same.
        var json = Llama3Folders.Restructure(Llama3Folders.FixtureTokenizer());
        json["added_tokens"]!.AsArray().Single(t => t!["id"]!.GetValue<int>() == 488)!["content"] = "<|reserved_special_token_4|>";
        using var llama30 = new TempFolder();
        llama30.Write("tokenizer.json", json.ToJsonString());
        Assert.Equal(fromRanks.Eos, CodiTokenizer.Load(llama30.Path, "llama", 496).Eos);

        // A tokenizer without the end tokens: generation_config.json, then config.json.
        foreach (var token in json["added_tokens"]!.AsArray().Where(t => t!["id"]!.GetValue<int>() is 481 or 488 or 489).ToList())
            json["added_tokens"]!.AsArray().Remove(token);
        using var bare = new TempFolder();
        bare.Write("tokenizer.json", json.ToJsonString());
        var noEnd = CodiTokenizer.Load(bare.Path, "llama", 496);
        Assert.Empty(noEnd.Eos);
        var generation = EosRule.Resolve(null, noEnd, fields, bare.Path);
        Assert.Equal([481, 488, 489], generation.Ids);
        Assert.Contains("generation_config.json", generation.Source, StringComparison.Ordinal);
        var configOnly = EosRule.Resolve(null, noEnd, fields with { GenerationEos = [] }, bare.Path);
        Assert.Contains("config.json eos_token_id", configOnly.Source, StringComparison.Ordinal);
        Assert.Throws<ModelFormatException>(() => EosRule.Resolve(null, noEnd, fields with { GenerationEos = [], ConfigEos = [] }, bare.Path));
    }
}
