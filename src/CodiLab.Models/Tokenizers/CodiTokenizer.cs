using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace CodiLab.Models.Tokenizers;

/// <summary>
/// The base model's tokenizer (docs/model-folder.md#tokenizer-files), built with Microsoft.ML.Tokenizers from the files in a folder:
/// GPT-2 byte-level BPE (<c>vocab.json</c> + <c>merges.txt</c>, or <c>tokenizer.json</c>), LLaMA-3
/// (<c>tokenizer.json</c>, or tiktoken ranks in <c>original/tokenizer.model</c> with the Llama-3 special
/// tokens after them). LLaMA prepends its start token, which must be found (post-processor, else config.json's
/// <c>bos_token_id</c>) or loading fails; GPT-2 adds nothing.
/// </summary>
public sealed class CodiTokenizer
{
    /// <summary>GPT-2's pre-tokenizer split.</summary>
    public const string Gpt2Split = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>LLaMA-3's pre-tokenizer split (digits in chunks of 1–3).</summary>
    public const string Llama3Split = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
        + @"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static readonly Dictionary<string, int> Llama3SpecialOffsets = new()
    {
        ["<|begin_of_text|>"] = 0, ["<|end_of_text|>"] = 1, ["<|finetune_right_pad_id|>"] = 4, ["<|start_header_id|>"] = 6,
        ["<|end_header_id|>"] = 7, ["<|eom_id|>"] = 8, ["<|eot_id|>"] = 9,
    };

    private readonly Tokenizer _inner;
    private readonly IReadOnlyDictionary<string, int> _specials;
    private readonly Dictionary<int, string> _specialNames;
    private readonly PreTokenizer? _preTokenizer;
    private readonly IReadOnlyDictionary<string, int>? _wholeWords;

    private CodiTokenizer(Tokenizer inner, IReadOnlyDictionary<string, int> specials, string source, string arch,
        StartToken? start = null, PreTokenizer? preTokenizer = null, IReadOnlyDictionary<string, int>? wholeWords = null)
    {
        _inner = inner;
        _specials = specials;
        _specialNames = specials.GroupBy(kv => kv.Value).ToDictionary(g => g.Key, g => g.First().Key);
        _preTokenizer = preTokenizer;
        _wholeWords = wholeWords;
        Source = source;
        Start = start;
        (Eos, EosSource) = EndTokens(arch, start);
    }

    // GPT-2: <|endoftext|> by name. LLaMA: the end slots of Llama-3's special block, found from the start token
    // rather than by name, because Llama-3.0 files call slot +8 <|reserved_special_token_4|> and 3.1+ files and
    // Meta's tiktoken specials <|eom_id|>: by position every file and both paths give the same ids.
    private (IReadOnlyList<int> Ids, string Source) EndTokens(string arch, StartToken? start)
    {
        var file = Path.GetFileName(Source);
        if (arch == "gpt2")
            return _specials.TryGetValue("<|endoftext|>", out var end)
                ? ([end], $"the tokenizer's end token <|endoftext|> in {file}")
                : ([], "");
        if (start is null) return ([], "");
        List<int> ids = [.. LlamaEndOffsets.Select(o => start.Id + o).Where(_specialNames.ContainsKey)];
        var names = string.Join(", ", ids.Select(id => _specialNames[id]));
        return (ids, $"the tokenizer's end tokens ({names}: <|begin_of_text|> + {string.Join("/", LlamaEndOffsets)}) in {file}");
    }

    /// <summary>The id prepended to every prompt (LLaMA's &lt;|begin_of_text|&gt;), or null.</summary>
    public int? Bos => Start?.Id;

    /// <summary>The start token with its text and where it was found, or null (GPT-2).</summary>
    public StartToken? Start { get; }

    /// <summary>
    /// The tokenizer's end tokens, sorted: LLaMA's specials at <see cref="LlamaEndOffsets"/> after the start token
    /// (&lt;|end_of_text|&gt;, &lt;|eom_id|&gt;, &lt;|eot_id|&gt;: the base tokenizer's eos is the first, the Instruct one's
    /// the last), GPT-2's &lt;|endoftext|&gt;. Found the same way on every path, so tokenizer.json and tokenizer.model agree.
    /// </summary>
    public IReadOnlyList<int> Eos { get; }

    /// <summary>Which tokens <see cref="Eos"/> holds and from which file.</summary>
    public string EosSource { get; }

    /// <summary>Which files it was built from.</summary>
    public string Source { get; }

    /// <summary>
    /// True when a word that is itself a vocabulary entry becomes that entry without merges (tokenizer.json <c>ignore_merges</c>).
    /// </summary>
    public bool IgnoresMerges => _wholeWords is not null;

    /// <summary>
    /// Where Llama-3's end tokens sit after &lt;|begin_of_text|&gt;: &lt;|end_of_text|&gt; +1, &lt;|eom_id|&gt; +8
    /// (&lt;|reserved_special_token_4|&gt; in Llama-3.0 files, never generated), &lt;|eot_id|&gt; +9.
    /// </summary>
    public static IReadOnlyList<int> LlamaEndOffsets { get; } = [1, 8, 9];

    /// <summary>The official question normalisation: strip, then replace "  " with " " once (non-overlapping), as test.py does.</summary>
    public static string NormalizeQuestion(string question) => question.Trim().Replace("  ", " ", StringComparison.Ordinal);

    /// <summary>Token ids of a text, with the start token when the model has one (no normalisation here).</summary>
    public IReadOnlyList<int> Encode(string text)
    {
        IReadOnlyList<int> ids = _wholeWords is null
            ? _inner.EncodeToIds(text, considerPreTokenization: true, considerNormalization: false)
            : EncodeWholeWordsFirst(text);
        return Bos is { } bos ? [bos, .. ids] : [.. ids];
    }

    /// <summary>Text of ids, leaving out special tokens and ids outside the tokenizer (pad, bot, eot).</summary>
    public string Decode(IEnumerable<int> ids, int vocabSize) =>
        _inner.Decode(ids.Where(id => id < vocabSize && !_specialNames.ContainsKey(id))) ?? "";

    /// <summary>The text of one id for display: a special token's name, else its decoded text.</summary>
    public string TokenText(int id) => _specialNames.TryGetValue(id, out var name) ? name : _inner.Decode([id]) ?? "";

    // ignore_merges: each pre-token that is itself a vocabulary entry (in byte-level spelling) is that entry;
    // only the others go through the merges, as Hugging Face's BPE model does.
    private List<int> EncodeWholeWordsFirst(string text)
    {
        var ids = new List<int>();
        foreach (var (offset, length) in _preTokenizer!.PreTokenize(text))
        {
            var piece = text.Substring(offset, length);
            if (_specials.TryGetValue(piece, out var special)) ids.Add(special);
            else if (_wholeWords!.TryGetValue(TokenizerJson.ToByteLevel(piece), out var whole)) ids.Add(whole);
            else ids.AddRange(_inner.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));
        }
        return ids;
    }

    /// <summary>
    /// Loads the tokenizer of an architecture from a folder; <paramref name="vocabSize"/> is config.json's.
    /// A LLaMA tokenizer whose files name no start token takes <paramref name="configStart"/> (config.json's
    /// <c>bos_token_id</c>); with neither, loading fails rather than encode every prompt without it.
    /// </summary>
    public static CodiTokenizer Load(string folder, string arch, int vocabSize, StartToken? configStart = null)
    {
        var json = Path.Combine(folder, "tokenizer.json");
        var vocab = Path.Combine(folder, "vocab.json");
        var merges = Path.Combine(folder, "merges.txt");
        var ranks = Path.Combine(folder, "original", "tokenizer.model");
        CodiTokenizer? tokenizer = null;
        try
        {
            if (arch == "gpt2" && File.Exists(vocab) && File.Exists(merges)) tokenizer = Gpt2(vocab, merges, vocabSize);
            else if (File.Exists(json)) tokenizer = FromTokenizerJson(json, arch, vocabSize);
            else if (arch == "llama" && File.Exists(ranks)) tokenizer = FromTiktoken(ranks, vocabSize);
        }
        catch (Exception e)
            when (e is JsonException or FormatException or ArgumentException or InvalidOperationException or KeyNotFoundException)
        {
            throw new ModelFormatException(
                $"the tokenizer files cannot be read ({e.Message}).", folder, "restore the base model's tokenizer files.", e);
        }
        if (tokenizer is null)
            throw new ModelFormatException("no tokenizer files found.", folder, arch == "gpt2"
                ? "copy GPT-2's vocab.json and merges.txt (or tokenizer.json) into the folder, "
                    + "or set model.tokenizer to a folder holding them."
                : "copy Llama-3.2-1B-Instruct's tokenizer.json (or original/tokenizer.model) into the folder, "
                    + "or set model.tokenizer to a folder holding it.");
        return arch == "llama" && tokenizer.Start is null ? tokenizer.WithStart(configStart, vocabSize) : tokenizer;
    }

    /// <summary>
    /// The LLaMA tokenizer from <c>original/tokenizer.model</c> even when a <c>tokenizer.json</c> sits beside it
    /// (doctor checks that the two agree), or null when the folder has no such file.
    /// </summary>
    public static CodiTokenizer? LoadRanks(string folder, int vocabSize, StartToken? configStart = null)
    {
        var ranks = Path.Combine(folder, "original", "tokenizer.model");
        if (!File.Exists(ranks)) return null;
        CodiTokenizer tokenizer;
        try
        {
            tokenizer = FromTiktoken(ranks, vocabSize);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            throw new ModelFormatException(
                $"the tokenizer ranks cannot be read ({e.Message}).", ranks, "restore the base model's original/tokenizer.model.", e);
        }
        return tokenizer.Start is null ? tokenizer.WithStart(configStart, vocabSize) : tokenizer;
    }

    // The LLaMA fallback: config.json's bos_token_id, else a loud error (never a prompt without its start token).
    private CodiTokenizer WithStart(StartToken? configStart, int vocabSize)
    {
        if (configStart is null)
            throw new ModelFormatException("the LLaMA tokenizer names no start token: no post-processor adds one (top-level or inside a "
                + "Sequence) and config.json has no bos_token_id, so every prompt would lack <|begin_of_text|>.", Source,
                "use the base model's own tokenizer.json (Llama-3.x's adds <|begin_of_text|>, id 128000), "
                + "or add \"bos_token_id\": 128000 to config.json.");
        if (configStart.Id < 0 || configStart.Id >= vocabSize)
            throw new ModelFormatException(
                $"bos_token_id {configStart.Id} is outside the vocabulary (vocab_size {vocabSize}).", configStart.Source,
                "set bos_token_id to the tokenizer's <|begin_of_text|> id (128000 for Llama-3.x).");
        var start = configStart with { Text = _specialNames.GetValueOrDefault(configStart.Id, configStart.Text) };
        return new CodiTokenizer(_inner, _specials, Source, "llama", start, _preTokenizer, _wholeWords);
    }

    private static CodiTokenizer Gpt2(string vocabPath, string mergesPath, int vocabSize)
    {
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(vocabPath))!;
        var merges = File.ReadLines(mergesPath).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)).ToList();
        var specials = vocab.Where(kv => kv.Key == "<|endoftext|>").ToDictionary(kv => kv.Key, kv => kv.Value);
        return Bpe(new BpeFiles(vocab, merges, specials, Gpt2Split, vocabPath, "gpt2", null, false), vocabSize);
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
        var start = root.TryGetProperty("post_processor", out var post) ? TokenizerJson.FindStartToken(post) : null;
        var ignoreMerges = model.TryGetProperty("ignore_merges", out var ignore) && ignore.ValueKind == JsonValueKind.True;
        return Bpe(new BpeFiles(vocab, merges, specials, split, path, arch, start, ignoreMerges), vocabSize);
    }

    private static string? FindSplitPattern(JsonElement pre)
    {
        if (pre.ValueKind != JsonValueKind.Object) return null;
        if (pre.TryGetProperty("type", out var type) && type.GetString() == "Split"
            && pre.TryGetProperty("pattern", out var pattern) && pattern.TryGetProperty("Regex", out var regex))
            return regex.GetString();
        if (pre.TryGetProperty("pretokenizers", out var list))
            foreach (var p in list.EnumerateArray())
                if (FindSplitPattern(p) is { } found) return found;
        return null;
    }

    private sealed record BpeFiles(Dictionary<string, int> Vocab, List<string> Merges, Dictionary<string, int> Specials, string Split,
        string Source, string Arch, StartToken? Start, bool IgnoreMerges);

    private static CodiTokenizer Bpe(BpeFiles f, int vocabSize)
    {
        var tooBig = f.Vocab.Values.Concat(f.Specials.Values).Where(id => id >= vocabSize).ToList();
        if (tooBig.Count > 0)
            throw new ModelFormatException(
                $"the tokenizer has ids up to {tooBig.Max()} but config.json says vocab_size = {vocabSize}.", f.Source,
                "use the tokenizer of the base model this checkpoint was trained from.");
        var words = f.Vocab.Where(kv => !f.Specials.ContainsKey(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var preTokenizer = new RegexPreTokenizer(new Regex(f.Split, RegexOptions.Compiled), f.Specials);
        var options = new BpeOptions(words)
        {
            Merges = f.Merges,
            ByteLevel = true,
            SpecialTokens = f.Specials,
            PreTokenizer = preTokenizer,
        };
        return new CodiTokenizer(
            BpeTokenizer.Create(options), f.Specials, f.Source, f.Arch, f.Start, preTokenizer, f.IgnoreMerges ? words : null);
    }

    private static CodiTokenizer FromTiktoken(string path, int vocabSize)
    {
        var count = CheckRanks(path, vocabSize);
        // Meta ships the specials separately: they follow the ranks (Llama 3: 128000 + offsets).
        var specials = new Dictionary<string, int>();
        for (int i = 0; i < vocabSize - count; i++)
        {
            var name = Llama3SpecialOffsets.FirstOrDefault(kv => kv.Value == i).Key ?? $"<|reserved_special_token_{i}|>";
            specials[name] = count + i;
        }
        using var stream = File.OpenRead(path);
        // tiktoken looks a whole pre-token up before merging, which is what ignore_merges does for tokenizer.json.
        var preTokenizer = new RegexPreTokenizer(new Regex(Llama3Split, RegexOptions.Compiled), specials);
        var tokenizer = TiktokenTokenizer.Create(stream, preTokenizer, null, specials);
        var start = specials.TryGetValue("<|begin_of_text|>", out var bos)
            ? new StartToken(bos, "<|begin_of_text|>", "original/tokenizer.model (the Llama-3 specials follow the ranks)")
            : null;
        return new CodiTokenizer(tokenizer, specials, path, "llama", start);
    }

    // Every rank must be a distinct id inside the vocabulary: an id beyond it would index past the embedding table, and
    // one among the specials' ids (which follow the ranks) would decode as a special. Returns the number of ranks.
    private static int CheckRanks(string path, int vocabSize)
    {
        const string RestoreRanks = "restore the base model's original/tokenizer.model.";
        var seen = new HashSet<int>();
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (text.Length == 0) continue;
            var space = text.LastIndexOf(' ');
            if (space <= 0 || !int.TryParse(text.AsSpan(space + 1), System.Globalization.NumberStyles.None,
                    System.Globalization.CultureInfo.InvariantCulture, out var rank))
                throw new ModelFormatException($"line {line} is not 'BASE64 RANK'.", path, RestoreRanks);
            if (rank >= vocabSize)
                throw new ModelFormatException($"line {line} gives id {rank}, outside the vocabulary (config.json vocab_size {vocabSize}).",
                    path, "use the tokenizer of the base model this checkpoint was trained from, with its own config.json.");
            if (!seen.Add(rank))
                throw new ModelFormatException($"line {line} repeats id {rank}.", path, RestoreRanks);
        }
        if (seen.Count > 0 && seen.Max() >= seen.Count)
        {
            throw new ModelFormatException($"the ranks skip ids (the highest is {seen.Max()} for {seen.Count} ranks), so the "
                + "special tokens that follow them would collide with a rank.", path, RestoreRanks);
        }
        return seen.Count;
    }
}
