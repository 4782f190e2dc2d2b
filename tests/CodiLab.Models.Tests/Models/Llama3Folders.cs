using System.Text.Json.Nodes;
using CodiLab.Models.Tokenizers;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Models;

/// <summary>
/// Llama-3.x-shaped files made by the tests themselves (Meta's own files carry their licence): the fixture's
/// tokenizer.json restructured the way Meta's 3.1/3.2 repositories ship it, a tokenizer.json converted from
/// tiktoken ranks, and a config.json with the fields a real download has.
/// </summary>
internal static class Llama3Folders
{
    /// <summary>
    /// A tokenizer.json in the Llama-3.x shape: the start token's TemplateProcessing nested in a Sequence
    /// post-processor after ByteLevel, and <c>ignore_merges: true</c>.
    /// </summary>
    public static JsonObject Restructure(JsonObject tokenizer, bool ignoreMerges = true)
    {
        var json = tokenizer.DeepClone().AsObject();
        var template = json["post_processor"]!.DeepClone();
        json["post_processor"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["processors"] = new JsonArray(
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
                template),
        };
        json["model"]!["ignore_merges"] = ignoreMerges;
        return json;
    }

    /// <summary>The tiny-llama fixture's tokenizer.json as a JSON object.</summary>
    public static JsonObject FixtureTokenizer() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixture("tiny-llama"), "tokenizer.json")))!.AsObject();

    /// <summary>A copy of tiny-llama with a Llama-3.x-shaped tokenizer.json beside original/tokenizer.model and a real-looking config.json.</summary>
    public static TempFolder FixtureCopy(bool realConfig = true)
    {
        var source = TestPaths.Fixture("tiny-llama");
        var folder = new TempFolder();
        foreach (var name in new[] { "codi.json", "model.safetensors", "reference.json", "original/tokenizer.model" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(folder.Path, name))!);
            File.Copy(Path.Combine(source, name), Path.Combine(folder.Path, name));
        }
        folder.Write("tokenizer.json", Restructure(FixtureTokenizer()).ToJsonString());
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "config.json")))!.AsObject();
        if (realConfig) AddRealFields(config, bos: 480, eos: [481, 488, 489]);
        folder.Write("config.json", config.ToJsonString());
        return folder;
    }

    /// <summary>The fields a downloaded Llama-3.2 config.json carries beyond the shape.</summary>
    public static void AddRealFields(JsonObject config, int bos, int[] eos)
    {
        config["bos_token_id"] = bos;
        config["eos_token_id"] = new JsonArray([.. eos.Select(e => (JsonNode)e)]);
        config["torch_dtype"] = "bfloat16";
        config["pretraining_tp"] = 1;
        config["transformers_version"] = "4.45.0.dev0";
        config["use_cache"] = true;
        config["initializer_range"] = 0.02;
    }

    /// <summary>
    /// A tokenizer.json converted from tiktoken ranks as Hugging Face converts Llama-3's: vocab in byte-level
    /// spelling, each multi-byte token's merge found by running BPE on its bytes with the lower ranks only,
    /// the specials after the ranks, Llama-3.x's nested post-processor and ignore_merges.
    /// </summary>
    public static JsonObject FromRanks(string ranksFile, int vocabSize)
    {
        var ranks = File.ReadLines(ranksFile).Where(l => l.Length > 0).Select(l => Convert.FromBase64String(l.Split(' ')[0])).ToList();
        var byRank = ranks.Select((b, i) => (Key: Convert.ToBase64String(b), Rank: i)).ToDictionary(p => p.Key, p => p.Rank);
        var vocab = new JsonObject();
        var merges = new JsonArray();
        for (int r = 0; r < ranks.Count; r++)
        {
            vocab[ByteLevel(ranks[r])] = r;
            if (ranks[r].Length < 2) continue;
            var parts = MergeBelow(ranks[r], byRank, r);
            Assert.Equal(2, parts.Count); // every cl100k token is one merge of two lower-ranked ones
            merges.Add(new JsonArray(ByteLevel(parts[0]), ByteLevel(parts[1])));
        }
        var added = new JsonArray();
        string[] names = ["<|begin_of_text|>", "<|end_of_text|>", "", "", "<|finetune_right_pad_id|>", "", "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>"];
        for (int i = 0; i < vocabSize - ranks.Count; i++)
        {
            var name = i < names.Length && names[i].Length > 0 ? names[i] : $"<|reserved_special_token_{i}|>";
            added.Add(new JsonObject { ["id"] = ranks.Count + i, ["content"] = name, ["special"] = true });
        }
        var template = new JsonObject
        {
            ["type"] = "TemplateProcessing",
            ["single"] = JsonNode.Parse("""[{"SpecialToken":{"id":"<|begin_of_text|>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}]"""),
            ["special_tokens"] = new JsonObject { ["<|begin_of_text|>"] = new JsonObject { ["id"] = "<|begin_of_text|>", ["ids"] = new JsonArray(ranks.Count) } },
        };
        var json = new JsonObject
        {
            ["added_tokens"] = added,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = CodiTokenizer.Llama3Split } },
                    new JsonObject { ["type"] = "ByteLevel", ["use_regex"] = false }),
            },
            ["post_processor"] = template,
            ["model"] = new JsonObject { ["type"] = "BPE", ["ignore_merges"] = true, ["vocab"] = vocab, ["merges"] = merges },
        };
        return Restructure(json);
    }

    private static List<byte[]> MergeBelow(byte[] token, Dictionary<string, int> ranks, int below)
    {
        var parts = token.Select(b => new[] { b }).ToList();
        while (true)
        {
            var (best, bestRank) = (-1, int.MaxValue);
            for (int i = 0; i + 1 < parts.Count; i++)
                if (ranks.TryGetValue(Convert.ToBase64String([.. parts[i], .. parts[i + 1]]), out var rank) && rank < bestRank) (best, bestRank) = (i, rank);
            if (best < 0 || bestRank >= below) return parts;
            parts[best] = [.. parts[best], .. parts[best + 1]];
            parts.RemoveAt(best + 1);
        }
    }

    private static string ByteLevel(byte[] bytes) => TokenizerJson.ToByteLevel(bytes);
}
