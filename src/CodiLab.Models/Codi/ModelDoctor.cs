using System.Globalization;
using CodiLab.Models.Architectures;
using CodiLab.Models.Checkpoints;
using CodiLab.Models.Tokenizers;
using static TorchSharp.torch;

namespace CodiLab.Models.Codi;

/// <summary>What <see cref="ModelDoctor"/> checks a folder with.</summary>
/// <param name="TokenizerFolder">Where the tokenizer files are (default: the model folder).</param>
/// <param name="Question">The sample question encoded and traced (default: <see cref="ModelDoctor.SampleQuestion"/>).</param>
/// <param name="CheckpointFile">Checkpoint file in the folder (default: model.safetensors, else pytorch_model.bin).</param>
/// <param name="MaxNewTokens">Answer tokens decoded in the one-question trace.</param>
public sealed record DoctorOptions(
    string? TokenizerFolder = null, string? Question = null, string? CheckpointFile = null, int MaxNewTokens = 16);

/// <summary>
/// The first checks a researcher needs on a CODI folder they just downloaded, each a <see cref="DoctorCheck"/>:
/// config.json shape and the Hugging Face fields that matter, checkpoint dtypes, LoRA rank inferred from the
/// factors against the configured one, every key against the official layout (through the loader), the three
/// appended rows present and finite, every weight finite, the tokenizer with its start token, the EOS ids and
/// their source, and one traced question whose latents are finite and whose attention rows sum to 1.
/// A check whose prerequisite failed is skipped, never guessed. Needs libtorch initialised by the caller.
/// </summary>
public static class ModelDoctor
{
    /// <summary>The default sample question (GSM8K-style, written for CodiLab).</summary>
    public const string SampleQuestion = "A baker bakes 12 loaves a day and sells 9 of them. How many loaves are left after 5 days?";

    /// <summary>How far an attention row may sum from 1 (float32 softmax over a few hundred keys is far closer).</summary>
    public const double RowSumTolerance = 1e-3;

    /// <summary>Runs every check on a model folder.</summary>
    public static DoctorReport Run(string folder, DoctorOptions? options = null)
    {
        options ??= new DoctorOptions();
        if (File.Exists(folder))
            throw new ModelFormatException("this is a file, not a model folder.", folder,
                "give the folder that holds config.json, the checkpoint and the tokenizer files.");
        if (!Directory.Exists(folder))
            throw new ModelFormatException("the model folder does not exist.", folder,
                "check the path; doctor takes the folder that holds config.json, the checkpoint and the tokenizer files.");
        var run = new DoctorRun(folder, options);
        try
        {
            return run.Execute();
        }
        finally
        {
            run.Dispose();
        }
    }
}

// One doctor run: each check reads what earlier ones found (config, fields, LoRA rank, loaded network, tokenizer, EOS).
internal sealed class DoctorRun(string folder, DoctorOptions options) : IDisposable
{
    private readonly List<DoctorCheck> _checks = [];
    private readonly string _tokenizerFolder = options.TokenizerFolder ?? folder;
    private ModelConfig _config = null!;
    private BaseModelFields _fields = null!;
    private int? _loraRank;
    private LoadedCheckpoint? _loaded;
    private CodiTokenizer _tokenizer = null!;
    private EosChoice _eos = null!;

    private string Question => CodiTokenizer.NormalizeQuestion(options.Question ?? ModelDoctor.SampleQuestion);

    public DoctorReport Execute()
    {
        Step("config", CheckConfig);
        Step("config fields", CheckFields, "config");
        Step("checkpoint dtypes", CheckDtypes, "config");
        Step("lora", CheckLora, "checkpoint dtypes");
        Step("checkpoint keys", CheckKeys, "checkpoint dtypes");
        Step("appended rows", CheckAppendedRows, "checkpoint keys");
        Step("weights finite", CheckFinite, "checkpoint keys");
        Step("tokenizer", CheckTokenizer, "config", "config fields");
        Step("eos", CheckEos, "tokenizer");
        Step("trace", CheckTrace, "checkpoint keys", "eos");
        return new DoctorReport(folder, _tokenizerFolder, _checks);
    }

    public void Dispose() => _loaded?.Network.Dispose();

    // Runs a check unless a prerequisite did not pass; a CodiLab error becomes a failed check with its fix.
    private void Step(string name, Func<string> check, params string[] needs)
    {
        var missing = needs.Where(n => _checks.FirstOrDefault(c => c.Name == n) is not { Ok: true }).ToList();
        if (missing.Count > 0)
        {
            _checks.Add(new DoctorCheck(name, CheckStatus.Skipped, $"not run: needs {string.Join(", ", missing)} to pass"));
            return;
        }
        try
        {
            _checks.Add(new DoctorCheck(name, CheckStatus.Pass, check()));
        }
        catch (DoctorFailure f)
        {
            _checks.Add(new DoctorCheck(name, CheckStatus.Fail, f.Message, f.Fix));
        }
        catch (CodiLabException e)
        {
            _checks.Add(new DoctorCheck(name, CheckStatus.Fail, (e.Where is null ? "" : e.Where + ": ") + e.What, e.Fix));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _checks.Add(new DoctorCheck(name, CheckStatus.Fail, $"{e.GetType().Name}: {e.Message}",
                "the files do not fit together in a way CodiLab recognises; "
                + "compare them with the official CODI layout (README, Real checkpoints)."));
        }
    }

    private static string Join<T>(IEnumerable<T> items) => string.Join(", ", items);

    private string CheckConfig()
    {
        var c = _config = ModelConfig.Read(folder);
        var problems = new List<string>();
        if (c.Heads <= 0 || c.Hidden % c.Heads != 0)
            problems.Add($"the hidden size {c.Hidden} is not a multiple of the head count {c.Heads}");
        if (c.KvHeads <= 0 || c.Heads % Math.Max(c.KvHeads, 1) != 0)
            problems.Add($"the head count {c.Heads} is not a multiple of the key/value head count {c.KvHeads}");
        if (c.Arch == "llama" && c.HeadDim % 2 != 0) problems.Add($"head_dim {c.HeadDim} is odd, so RoPE cannot rotate pairs");
        if (c.Layers <= 0 || c.VocabSize <= 0) problems.Add($"{c.Layers} layers and vocab_size {c.VocabSize} describe no model");
        if (problems.Count > 0)
            throw new DoctorFailure($"{Path.Combine(folder, "config.json")}: {Join(problems)}.",
                "use the base model's own config.json "
                + "(GPT-2: n_embd 768, n_head 12; Llama-3.2-1B: hidden_size 2048, 32 heads, 8 kv heads).");
        var positions = c.Arch == "gpt2" ? $"learned positions {c.MaxPositions}"
            : $"RoPE theta {c.RopeTheta.ToString(CultureInfo.InvariantCulture)}, " + (c.Rope is { } r
                ? FormattableString.Invariant(
                    $"llama3 scaling ×{r.Factor} (low {r.LowFreqFactor}, high {r.HighFreqFactor}, original {r.OriginalMaxPositions})")
                : "no scaling");
        return $"{c.Arch}: {c.Layers} layers, hidden {c.Hidden}, {c.Heads} heads ({c.KvHeads} kv), "
            + $"head dim {c.HeadDim}, MLP {c.Intermediate}, "
            + $"vocab {c.VocabSize} (+3: pad {c.VocabSize}, bot {c.VocabSize + 1}, eot {c.VocabSize + 2}); {positions}";
    }

    private string CheckFields()
    {
        var f = _fields = BaseModelFields.Read(folder, options.TokenizerFolder);
        if (f.TieWordEmbeddings == false)
            throw new DoctorFailure(
                $"{f.ConfigPath}: tie_word_embeddings is false, but CODI's bases (GPT-2, Llama-3.2-1B) "
                + "tie the LM head to the embedding and CodiLab always does.",
                "use the base model's own config.json (tie_word_embeddings: true).");
        static string Show<T>(T? v) => v is null ? "-" : Convert.ToString(v, CultureInfo.InvariantCulture)!.ToLowerInvariant();
        static string Ids(IReadOnlyList<int> ids) => ids.Count == 0 ? "-" : $"[{Join(ids)}]";
        var tp = f.PretrainingTp is > 1 ? $" (>1 only splits Hugging Face's matmuls; CodiLab computes them whole)" : "";
        return $"torch_dtype {Show(f.TorchDtype)}, pretraining_tp {Show(f.PretrainingTp)}{tp}, "
            + $"transformers {Show(f.TransformersVersion)}, tie_word_embeddings {Show(f.TieWordEmbeddings)}, "
            + $"bos_token_id {Show(f.BosTokenId)}, eos_token_id {Ids(f.ConfigEos)}, generation_config eos_token_id {Ids(f.GenerationEos)}";
    }

    // Reads the raw tensors once for what the loader does not report when it stops at the first problem: every
    // stored dtype by role, and the LoRA rank the factors carry.
    private string CheckDtypes()
    {
        var path = CodiLoader.FindCheckpoint(folder, options.CheckpointFile);
        if (!File.Exists(path))
            throw new ModelFormatException(
                "the checkpoint file does not exist.", path, "name an existing model.safetensors or pytorch_model.bin.");
        var raw = CodiLoader.ReadTensors(path);
        static string Role(string key) => key.StartsWith("prj.", StringComparison.Ordinal) ? "prj"
            : key.Contains(".lora_", StringComparison.Ordinal) ? "LoRA"
            : "base";
        var notFloat = raw
            .Where(kv => kv.Value.Type is not (StoredType.Float32 or StoredType.BFloat16 or StoredType.Float16 or StoredType.Float64))
            .ToList();
        if (notFloat.Count > 0)
            throw new DoctorFailure(
                $"{path}: {notFloat.Count} key(s) hold non-float values, e.g. '{notFloat[0].Key}' ({notFloat[0].Value.Type}).",
                "re-save the checkpoint with float weights (the official code saves bf16 base weights, fp32 LoRA and prj).");
        var ranks = raw.Where(kv => kv.Key.Contains(".lora_A.", StringComparison.Ordinal))
            .Select(kv => kv.Value.Shape[0]).Distinct().ToList();
        if (ranks.Count > 1)
            throw new DoctorFailure($"{path}: the lora_A factors have different ranks ({Join(ranks.Order())}).",
                "the checkpoint mixes adapters; save it again from one run.");
        _loraRank = ranks.Count == 1 ? (int)ranks[0] : null;
        var groups = raw.GroupBy(kv => (Role: Role(kv.Key), kv.Value.Type))
            .OrderBy(g => g.Key.Role, StringComparer.Ordinal).ThenBy(g => g.Key.Type)
            .Select(g => $"{g.Key.Role} {g.Key.Type} ×{g.Count()}");
        return $"{Path.GetFileName(path)}: {raw.Count} keys; {Join(groups)}";
    }

    private string CheckLora()
    {
        var settings = FolderSettings.Read(folder);
        var source = settings.Source is null ? "the released scripts' default" : Path.GetFileName(settings.Source);
        if (_loraRank is not { } rank)
            return "no LoRA factors: the checkpoint holds merged or base weights "
                + $"(r/alpha unused; {source} says r {settings.LoraR}, alpha {settings.LoraAlpha})";
        if (rank != settings.LoraR)
            throw new DoctorFailure(
                $"the lora_A factors have rank {rank} but {source} says r = {settings.LoraR}, so the merge would scale by alpha/r wrongly.",
                $"set \"lora_r\": {rank} (and the alpha it was trained with) in codi.json, or \"r\" in adapter_config.json; "
                + $"in a spec model.lora.r: {rank}, on the command line --lora-r {rank}.");
        var scale = (settings.LoraAlpha / rank).ToString(CultureInfo.InvariantCulture);
        return FormattableString.Invariant($"rank {rank} inferred from the lora_A factors = r {settings.LoraR} of {source}; ")
            + FormattableString.Invariant($"alpha {settings.LoraAlpha} (configured, not stored in the weights): scale {scale}");
    }

    private string CheckKeys()
    {
        // The rank the factors carry, so a rank mismatch (the lora check) is not reported again as a key problem.
        _loaded = CodiLoader.Load(folder, new LoadOptions(LoraR: _loraRank, CheckpointFile: options.CheckpointFile));
        var roles = _loaded.Keys.GroupBy(k => k.Role).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key}");
        return $"{_loaded.Keys.Count} keys match the official CODI layout ({Join(roles)}); "
            + $"every network parameter filled; {string.Join("; ", _loaded.Notes)}";
    }

    private string CheckAppendedRows()
    {
        var v = _config.VocabSize;
        var stored = _loaded!.Keys.First(k => k.Role == KeyRole.Parameter
            && (k.Target.EndsWith(".wte.weight", StringComparison.Ordinal)
                || k.Target.EndsWith(".embed_tokens.weight", StringComparison.Ordinal)));
        if (stored.Shape[0] < v + 3)
            throw new DoctorFailure(
                $"'{stored.Key}' has {stored.Shape[0]} rows: "
                + $"the base vocabulary without CODI's pad, bot and eot rows ({v}, {v + 1}, {v + 2}); "
                + "this is a base model, not a CODI checkpoint.",
                "put the CODI checkpoint (the official training code saves the resized embedding with the three rows) in the folder.");
        using var _ = NewDisposeScope();
        var rows = _loaded.Network.Lm.EmbeddingTable[TensorIndex.Slice(v, v + 3)];
        var bad = rows.isfinite().logical_not().sum(1).data<long>().ToArray();
        string[] names = ["pad", "bot", "eot"];
        if (bad.Any(b => b > 0))
            throw new DoctorFailure($"'{stored.Key}': "
                + Join(bad.Select((b, i) => (b, i)).Where(p => p.b > 0)
                    .Select(p => $"row {v + p.i} ({names[p.i]}) holds {p.b} NaN/infinite values"))
                + ".",
                "the checkpoint is damaged or was saved after training diverged; copy it again from its source.");
        var norms = rows.norm(1).data<float>().ToArray();
        return $"rows {v} (pad), {v + 1} (bot), {v + 2} (eot) present in '{stored.Key}' and finite; L2 norms "
            + Join(norms.Select(n => n.ToString("0.###", CultureInfo.InvariantCulture)));
    }

    private string CheckFinite()
    {
        var bad = new List<string>();
        long values = 0;
        var table = _loaded!.Network.Lm.EmbeddingTable;
        foreach (var (name, p) in _loaded.Network.named_parameters())
        {
            using var scope = NewDisposeScope();
            // The embedding's three appended rows are the appended-rows check's; the base rows are checked here.
            var t = ReferenceEquals(p, table) || p.Handle == table.Handle ? p[TensorIndex.Slice(0, _config.VocabSize)] : p;
            values += t.numel();
            var count = t.isfinite().logical_not().sum().item<long>();
            if (count > 0) bad.Add($"{name} ({count} values)");
        }
        if (bad.Count > 0)
            throw new DoctorFailure(
                $"{bad.Count} parameter(s) hold NaN or infinite values: {Join(bad.Take(5))}{(bad.Count > 5 ? ", …" : "")}.",
                "the checkpoint is damaged or was saved after training diverged; copy it again from its source.");
        return FormattableString.Invariant($"{values} values in {_loaded.Network.named_parameters().Count()} parameters, all finite");
    }

    private string CheckTokenizer()
    {
        _tokenizer = CodiTokenizer.Load(_tokenizerFolder, _config.Arch, _config.VocabSize, _fields.ConfigStart);
        var ids = _tokenizer.Encode(Question);
        var start = _tokenizer.Start;
        if (start is not null && _fields.BosTokenId is { } configBos && configBos != start.Id)
            throw new DoctorFailure(
                $"config.json's bos_token_id is {configBos} but the tokenizer's start token is {start.Id} ({start.Text}); "
                + "one of them belongs to another model.",
                "use the base model's config.json and tokenizer files together (Llama-3.x: both 128000).");
        var agree = "";
        if (_config.Arch == "llama" && _tokenizer.Source.EndsWith("tokenizer.json", StringComparison.Ordinal)
            && CodiTokenizer.LoadRanks(_tokenizerFolder, _config.VocabSize, _fields.ConfigStart) is { } ranks)
        {
            var other = ranks.Encode(Question);
            if (!other.SequenceEqual(ids))
                throw new DoctorFailure(
                    $"tokenizer.json and original/tokenizer.model encode the sample differently: [{Join(ids)}] vs [{Join(other)}].",
                    "the two files come from different models; keep the base model's own pair (or remove the one that does not belong).");
            agree = "; original/tokenizer.model gives the same ids";
        }
        var shown = Join(ids.Take(8).Select(id => $"{id} '{_tokenizer.TokenText(id)}'")) + (ids.Count > 8 ? ", …" : "");
        var startText = start is null ? "no start token (GPT-2 adds none)" : $"start token {start.Id} {start.Text} from {start.Source}";
        return $"{Path.GetFileName(_tokenizer.Source)}{(_tokenizer.IgnoresMerges ? " (ignore_merges)" : "")}; {startText}; "
            + $"sample question: {ids.Count} ids [{shown}]{agree}";
    }

    private string CheckEos()
    {
        _eos = EosRule.Resolve(null, _tokenizer, _fields, _tokenizerFolder);
        var outside = _eos.Ids.Where(id => id < 0 || id >= _config.VocabSize).ToList();
        if (outside.Count > 0)
            throw new DoctorFailure(
                $"EOS id(s) {Join(outside)} from {_eos.Source} are outside the vocabulary (vocab_size {_config.VocabSize}).",
                "use the base model's own tokenizer and config files.");
        var configured = _fields.ConfigEos.Concat(_fields.GenerationEos).Distinct().Order().ToList();
        var unknown = configured.Except(_eos.Ids).ToList();
        if (unknown.Count > 0)
            throw new DoctorFailure(
                $"config/generation_config eos_token_id name {Join(unknown)}, "
                + $"which the EOS in use [{Join(_eos.Ids)}] ({_eos.Source}) lacks: "
                + "answers would not stop where Hugging Face's generate() stops.",
                "use the base model's config files and tokenizer together, or give every EOS id explicitly (trace --eos).");
        var named = Join(_eos.Ids.Select(id => $"{id} {_tokenizer.TokenText(id)}"));
        return $"[{named}] from {_eos.Source}" + (configured.Count > 0 ? $"; config eos_token_id [{Join(configured)}] among them" : "");
    }

    private string CheckTrace()
    {
        var model = CodiModel.FromLoaded(folder, _loaded!, _tokenizer, _eos);
        var trace = model.Trace(Question, options.MaxNewTokens);
        var problems = new List<string>();
        if (_tokenizer.Bos is { } bos && trace.InputIds[0] != bos)
            problems.Add($"input_ids[0] is {trace.InputIds[0]}, not the start token {bos}");
        if (trace.InputIds[^1] != model.Ids.Bot) problems.Add($"the prompt ends with {trace.InputIds[^1]}, not bot {model.Ids.Bot}");
        var (rows, worst) = (0, 0.0);
        foreach (var (query, layers) in trace.Attention)
            for (int l = 0; l < layers.Length; l++)
                for (int h = 0; h < layers[l].Length; h++)
                {
                    rows++;
                    var row = layers[l][h];
                    var sum = row.Sum(x => (double)x);
                    if (row.Any(x => !float.IsFinite(x)) || !double.IsFinite(sum))
                        problems.Add($"row {query} layer {l} head {h} is not finite");
                    else worst = Math.Max(worst, Math.Abs(sum - 1));
                }
        if (worst > ModelDoctor.RowSumTolerance) problems.Add(FormattableString.Invariant($"an attention row sums {worst:E2} away from 1"));
        if (trace.Latents!.Any(z => z.Any(x => !float.IsFinite(x)))) problems.Add("a continuous thought holds NaN or infinite values");
        if (problems.Count > 0)
            throw new DoctorFailure($"the one-question trace: {Join(problems.Take(4))}.",
                "check the failed checks above; if all pass, the checkpoint's weights are damaged: copy it again.");
        var norms = Join(trace.LatentNorms.Select(n => n.ToString("0.##", CultureInfo.InvariantCulture)));
        var first = trace.InputIds[0];
        return FormattableString.Invariant(
                $"{trace.InputIds.Count} prompt ids (input_ids[0] = {first} {_tokenizer.TokenText(first)}, last = bot {model.Ids.Bot}); ")
            + FormattableString.Invariant(
                $"{rows} attention rows (BOT, z1..z{model.NumLatent} × {_config.Layers} layers × {_config.Heads} heads) finite, ")
            + FormattableString.Invariant($"sums within {worst:E1} of 1; ")
            + $"latent norms [{norms}]; logit lens [{Join(trace.LogitLensTop1)}]; "
            + $"answer ({trace.AnswerIds.Count} tokens): \"{trace.AnswerText.Trim()}\"";
    }
}

// A failed check found by the doctor itself (not a loader error): what is wrong and the fix.
internal sealed class DoctorFailure(string message, string fix) : Exception(message)
{
    public string Fix { get; } = fix;
}
