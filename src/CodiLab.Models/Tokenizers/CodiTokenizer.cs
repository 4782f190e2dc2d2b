using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace CodiLab.Models.Tokenizers;

/// <summary>
/// The base model's tokenizer (docs/model-folder.md#tokenizer-files), built with Microsoft.ML.Tokenizers from the files in a folder:
/// GPT-2 byte-level BPE (<c>vocab.json</c> + <c>merges.txt</c>, or <c>tokenizer.json</c>), LLaMA-3
/// (<c>tokenizer.json</c>, or tiktoken ranks in <c>original/tokenizer.model</c> with the Llama-3 special
/// tokens after them). LLaMA prepends BOS; GPT-2 adds nothing.
/// </summary>
public sealed class CodiTokenizer
{
    /// <summary>GPT-2's pre-tokenizer split.</summary>
    public const string Gpt2Split = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>LLaMA-3's pre-tokenizer split (digits in chunks of 1–3).</summary>
    public const string Llama3Split = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static readonly Dictionary<string, int> Llama3SpecialOffsets = new()
    {
        ["<|begin_of_text|>"] = 0, ["<|end_of_text|>"] = 1, ["<|finetune_right_pad_id|>"] = 4, ["<|start_header_id|>"] = 6,
        ["<|end_header_id|>"] = 7, ["<|eom_id|>"] = 8, ["<|eot_id|>"] = 9,
    };

    private readonly Tokenizer _inner;
    private readonly IReadOnlySet<int> _special;

    private CodiTokenizer(Tokenizer inner, int? bos, IReadOnlyList<int> eos, IReadOnlySet<int> special, string source)
    {
        _inner = inner;
        Bos = bos;
        Eos = eos;
        _special = special;
        Source = source;
    }

    /// <summary>The id prepended to every prompt (LLaMA's &lt;|begin_of_text|&gt;), or null.</summary>
    public int? Bos { get; }

    /// <summary>The ids that end an answer.</summary>
    public IReadOnlyList<int> Eos { get; }

    /// <summary>Which files it was built from.</summary>
    public string Source { get; }

    /// <summary>The official question normalisation: strip, then replace "  " with " " once (non-overlapping), as test.py does.</summary>
    public static string NormalizeQuestion(string question) => question.Trim().Replace("  ", " ", StringComparison.Ordinal);

    /// <summary>Token ids of a text, with BOS when the model has one (no normalisation here).</summary>
    public IReadOnlyList<int> Encode(string text)
    {
        var ids = _inner.EncodeToIds(text, considerPreTokenization: true, considerNormalization: false);
        return Bos is { } bos ? [bos, .. ids] : [.. ids];
    }

    /// <summary>Text of ids, leaving out special tokens and ids outside the tokenizer (pad, bot, eot).</summary>
    public string Decode(IEnumerable<int> ids, int vocabSize) =>
        _inner.Decode(ids.Where(id => id < vocabSize && !_special.Contains(id))) ?? "";

    /// <summary>Loads the tokenizer of an architecture from a folder; <paramref name="vocabSize"/> is config.json's.</summary>
    public static CodiTokenizer Load(string folder, string arch, int vocabSize)
    {
        var json = Path.Combine(folder, "tokenizer.json");
        var vocab = Path.Combine(folder, "vocab.json");
        var merges = Path.Combine(folder, "merges.txt");
        var ranks = Path.Combine(folder, "original", "tokenizer.model");
        try
        {
            if (arch == "gpt2" && File.Exists(vocab) && File.Exists(merges)) return Gpt2(vocab, merges, vocabSize);
            if (File.Exists(json)) return FromTokenizerJson(json, arch, vocabSize);
            if (arch == "llama" && File.Exists(ranks)) return FromTiktoken(ranks, vocabSize);
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException or InvalidOperationException or KeyNotFoundException)
        {
            throw new ModelFormatException($"the tokenizer files cannot be read ({e.Message}).", folder, "restore the base model's tokenizer files.", e);
        }
        throw new ModelFormatException("no tokenizer files found.", folder, arch == "gpt2"
            ? "copy GPT-2's vocab.json and merges.txt (or tokenizer.json) into the folder, or set model.tokenizer to a folder holding them."
            : "copy Llama-3.2-1B-Instruct's tokenizer.json (or original/tokenizer.model) into the folder, or set model.tokenizer to a folder holding it.");
    }

    private static CodiTokenizer Gpt2(string vocabPath, string mergesPath, int vocabSize)
    {
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(vocabPath))!;
        var merges = File.ReadLines(mergesPath).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)).ToList();
        var specials = vocab.Where(kv => kv.Key == "<|endoftext|>").ToDictionary(kv => kv.Key, kv => kv.Value);
        return Bpe(vocab, merges, specials, Gpt2Split, vocabSize, vocabPath, bos: null, eos: specials.Values.ToList());
    }

    private static CodiTokenizer FromTokenizerJson(string path, string arch, int vocabSize)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        var model = root.GetProperty("model");
        if (model.GetProperty("type").GetString() != "BPE") throw new FormatException("tokenizer.json does not hold a BPE model");
        var vocab = model.GetProperty("vocab").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        var merges = model.GetProperty("merges").EnumerateArray()
            .Select(m => m.ValueKind == JsonValueKind.String ? m.GetString()! : $"{m[0].GetString()} {m[1].GetString()}").ToList();
        var specials = root.TryGetProperty("added_tokens", out var added)
            ? added.EnumerateArray().ToDictionary(t => t.GetProperty("content").GetString()!, t => t.GetProperty("id").GetInt32())
            : [];
        // The split regex: the Split pre-tokenizer's pattern if there is one, else GPT-2's (ByteLevel with use_regex).
        var split = FindSplitPattern(root.GetProperty("pre_tokenizer")) ?? (arch == "llama" ? Llama3Split : Gpt2Split);
        int? bos = null;
        if (root.TryGetProperty("post_processor", out var post) && post.ValueKind == JsonValueKind.Object && post.TryGetProperty("special_tokens", out var st))
            foreach (var p in st.EnumerateObject())
                if (p.Value.TryGetProperty("ids", out var ids) && ids.GetArrayLength() == 1) bos = ids[0].GetInt32();
        var eos = arch == "gpt2"
            ? specials.Where(kv => kv.Key == "<|endoftext|>").Select(kv => kv.Value).ToList()
            : specials.Where(kv => kv.Key is "<|end_of_text|>" or "<|eom_id|>" or "<|eot_id|>").Select(kv => kv.Value).Order().ToList();
        return Bpe(vocab, merges, specials, split, vocabSize, path, bos, eos);
    }

    private static string? FindSplitPattern(JsonElement pre)
    {
        if (pre.ValueKind != JsonValueKind.Object) return null;
        if (pre.TryGetProperty("type", out var type) && type.GetString() == "Split" && pre.TryGetProperty("pattern", out var pattern) && pattern.TryGetProperty("Regex", out var regex))
            return regex.GetString();
        if (pre.TryGetProperty("pretokenizers", out var list))
            foreach (var p in list.EnumerateArray())
                if (FindSplitPattern(p) is { } found) return found;
        return null;
    }

    private static CodiTokenizer Bpe(Dictionary<string, int> vocab, List<string> merges, Dictionary<string, int> specials, string split, int vocabSize, string source, int? bos, List<int> eos)
    {
        var tooBig = vocab.Values.Concat(specials.Values).Where(id => id >= vocabSize).ToList();
        if (tooBig.Count > 0)
            throw new ModelFormatException($"the tokenizer has ids up to {tooBig.Max()} but config.json says vocab_size = {vocabSize}.", source,
                "use the tokenizer of the base model this checkpoint was trained from.");
        var options = new BpeOptions(vocab.Where(kv => !specials.ContainsKey(kv.Key)))
        {
            Merges = merges,
            ByteLevel = true,
            SpecialTokens = specials,
            PreTokenizer = new RegexPreTokenizer(new Regex(split, RegexOptions.Compiled), specials),
        };
        return new CodiTokenizer(BpeTokenizer.Create(options), bos, eos, specials.Values.ToHashSet(), source);
    }

    private static CodiTokenizer FromTiktoken(string path, int vocabSize)
    {
        var count = File.ReadLines(path).Count(l => l.Length > 0);
        // Meta ships the specials separately: they follow the ranks (Llama 3: 128000 + offsets).
        var specials = new Dictionary<string, int>();
        for (int i = 0; i < vocabSize - count; i++)
        {
            var name = Llama3SpecialOffsets.FirstOrDefault(kv => kv.Value == i).Key ?? $"<|reserved_special_token_{i}|>";
            specials[name] = count + i;
        }
        using var stream = File.OpenRead(path);
        var tokenizer = TiktokenTokenizer.Create(stream, new RegexPreTokenizer(new Regex(Llama3Split, RegexOptions.Compiled), specials), null, specials);
        var eos = new[] { "<|end_of_text|>", "<|eom_id|>", "<|eot_id|>" }.Where(specials.ContainsKey).Select(s => specials[s]).ToList();
        return new CodiTokenizer(tokenizer, specials.GetValueOrDefault("<|begin_of_text|>", -1) is var b && b >= 0 ? b : null, eos, specials.Values.ToHashSet(), path);
    }
}
