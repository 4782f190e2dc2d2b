using CodiLab.Models.Architectures;
using CodiLab.Models.Checkpoints;
using static TorchSharp.torch;

namespace CodiLab.Models.Codi;

/// <summary>How one checkpoint key was used.</summary>
public enum KeyRole
{
    /// <summary>Copied into a parameter.</summary>
    Parameter,
    /// <summary>Copied into a parameter after a Conv1D → Linear transpose.</summary>
    TransposedParameter,
    /// <summary>A LoRA factor, merged into the base weight of its module.</summary>
    LoraFactor,
    /// <summary>A stored copy of the tied LM head (the embedding is used).</summary>
    TiedHead,
    /// <summary>A buffer older transformers versions saved (attention bias, rotary inv_freq): dropped.</summary>
    LegacyBuffer,
}

/// <summary>One line of the loader's inventory.</summary>
public sealed record KeyReport(string Key, StoredType Type, long[] Shape, KeyRole Role, string Target, string? Note);

/// <summary>
/// Loader settings. LoRA r/alpha left null come from the folder (<c>codi.json</c>, else a PEFT
/// <c>adapter_config.json</c>), else the released CODI scripts' 128/32. With <paramref name="MergedCache"/>, a network of
/// at least <paramref name="MergedCacheMinBytes"/> is kept there once loaded and mapped from there on later loads
/// (<see cref="MergedWeights"/>).
/// </summary>
public sealed record LoadOptions(
    int? LoraR = null, double? LoraAlpha = null, string? CheckpointFile = null, string? MergedCache = null,
    long MergedCacheMinBytes = 256L << 20);

/// <summary>Run settings a model folder may record beside the checkpoint (codi.json, adapter_config.json).</summary>
/// <param name="LoraR">LoRA rank.</param>
/// <param name="LoraAlpha">LoRA alpha.</param>
/// <param name="NumLatent">Continuous thoughts.</param>
/// <param name="Source">The file they came from, or null for the built-in defaults.</param>
public sealed record FolderSettings(int LoraR, double LoraAlpha, int NumLatent, string? Source)
{
    /// <summary>The released CODI scripts' settings.</summary>
    public static FolderSettings Defaults { get; } = new(128, 32, 6, null);

    /// <summary>Reads codi.json, else adapter_config.json (PEFT), else the defaults; a malformed file is an error naming it.</summary>
    public static FolderSettings Read(string folder)
    {
        foreach (var (name, r, alpha) in new[] { ("codi.json", "lora_r", "lora_alpha"), ("adapter_config.json", "r", "lora_alpha") })
        {
            var path = Path.Combine(folder, name);
            if (!File.Exists(path)) continue;
            try
            {
                var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();
                return new FolderSettings(
                    node[r]?.GetValue<int>() ?? Defaults.LoraR,
                    node[alpha]?.GetValue<double>() ?? Defaults.LoraAlpha,
                    node["num_latent"]?.GetValue<int>() ?? Defaults.NumLatent,
                    path);
            }
            catch (Exception e)
                when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException or NullReferenceException)
            {
                throw new ModelFormatException($"{name} is not valid: {e.Message}", path,
                    $"fix the file (numbers for {r}, {alpha}, num_latent) or remove it.");
            }
        }
        return Defaults;
    }
}

/// <summary>A loaded network and the inventory of every checkpoint key.</summary>
public sealed record LoadedCheckpoint(
    CodiNetwork Network, ModelConfig Config, string CheckpointPath, IReadOnlyList<KeyReport> Keys, IReadOnlyList<string> Notes);

/// <summary>
/// The one place that maps checkpoint keys onto the network (docs/model-folder.md#the-checkpoint): strips <c>codi.</c> /
/// <c>coconut.</c> prefixes, merges LoRA in float32 (W += alpha/r · B·A; Conv1D transposed to Linear
/// layout), uses the embedding as the tied head, drops named legacy buffers. Every key is classified
/// exactly once; a missing or unexpected key, a wrong shape or a non-float dtype is an error naming the key.
/// </summary>
public static class CodiLoader
{
    private static readonly string[] Prefixes = ["codi.base_model.model.", "coconut.base_model.model."];
    private static readonly string[] Conv1D = ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"];

    /// <summary>The checkpoint file a folder would be loaded from (safetensors first, as the official loader).</summary>
    public static string FindCheckpoint(string folder, string? file = null)
    {
        if (file is not null) return Path.IsPathRooted(file) ? file : Path.Combine(folder, file);
        foreach (var name in new[] { "model.safetensors", "pytorch_model.bin" })
            if (File.Exists(Path.Combine(folder, name))) return Path.Combine(folder, name);
        throw new ModelFormatException("the folder holds neither model.safetensors nor pytorch_model.bin.", folder,
            "put the CODI checkpoint (as the official training code saves it) in this folder, "
            + "with the base model's config.json and tokenizer files.");
    }

    /// <summary>Reads a checkpoint file of either format.</summary>
    public static IReadOnlyDictionary<string, RawTensor> ReadTensors(string path) =>
        path.EndsWith(".safetensors", StringComparison.Ordinal) ? SafeTensors.Read(path) : TorchPickle.Read(path);

    /// <summary>Loads a model folder into a new float32 CPU network.</summary>
    public static LoadedCheckpoint Load(string folder, LoadOptions? options = null)
    {
        options ??= new LoadOptions();
        AllocatorPolicy.Apply();
        if (!Directory.Exists(folder))
            throw new ModelFormatException("the model folder does not exist.", folder,
                "put the CODI checkpoint folder there, or point model.path (or the command's MODEL_DIR) at it.");
        var config = ModelConfig.Read(folder);
        var path = FindCheckpoint(folder, options.CheckpointFile);
        if (!File.Exists(path))
            throw new ModelFormatException(
                "the checkpoint file does not exist.", path, "name an existing model.safetensors or pytorch_model.bin.");
        var settings = FolderSettings.Read(folder);
        options = options with { LoraR = options.LoraR ?? settings.LoraR, LoraAlpha = options.LoraAlpha ?? settings.LoraAlpha };
        var key = options.MergedCache is null ? null : MergedWeights.KeyOf(folder, path, options.LoraR.Value, options.LoraAlpha.Value);
        if (key is not null && MergedWeights.TryLoad(options.MergedCache!, key, config, path) is { } cached) return cached;
        var loaded = LoadCheckpoint(path, config, options);
        if (key is null || loaded.Network.parameters().Sum(p => p.numel() * 4) < options.MergedCacheMinBytes) return loaded;
        try
        {
            MergedWeights.Save(options.MergedCache!, key, loaded);
            return loaded;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return loaded with { Notes = [.. loaded.Notes, $"the merged-weights cache was not written: {e.Message}"] };
        }
    }

    // Reads the checkpoint into a new network: every key placed, LoRA merged.
    private static LoadedCheckpoint LoadCheckpoint(string path, ModelConfig config, LoadOptions options)
    {
        // safetensors are read tensor by tensor straight into tensor memory while the file is open (no managed copy).
        using var file = path.EndsWith(".safetensors", StringComparison.Ordinal) ? SafeTensors.Open(path) : null;
        var raw = new Dictionary<string, RawTensor>(file?.Tensors ?? TorchPickle.Read(path), StringComparer.Ordinal);
        var network = new CodiNetwork(config);
        try
        {
            var (reports, notes) = Fill(network, config, raw, path, options);
            return new LoadedCheckpoint(network, config, path, reports, notes);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    private static string Strip(string key, string arch)
    {
        foreach (var p in Prefixes)
            if (key.StartsWith(p, StringComparison.Ordinal)) return key[p.Length..];
        // Plain HF GPT-2 checkpoints name the body's tensors without "transformer.".
        if (arch == "gpt2"
            && (key.StartsWith("h.", StringComparison.Ordinal) || key is "wte.weight" or "wpe.weight" or "ln_f.weight" or "ln_f.bias"))
            return "transformer." + key;
        return key;
    }

    // Classifies every key and copies it straight into its parameter (one float32 tensor alive at a time, the
    // checkpoint's bytes released as they are used), then merges LoRA into the filled weights.
    private static (List<KeyReport> Reports, List<string> Notes) Fill(
        CodiNetwork network, ModelConfig config, Dictionary<string, RawTensor> raw, string path, LoadOptions options)
    {
        using var _ = no_grad();
        var fill = new CheckpointFill(network, config, raw, path);
        foreach (var key in raw.Keys.Order(StringComparer.Ordinal).ToList())
            fill.Place(key);
        fill.CheckComplete();
        fill.MergeLora(options);
        fill.CheckTiedHead();
        return (fill.Reports, fill.Notes);
    }

    private static string EmbeddingName(ModelConfig config) =>
        config.Arch == "gpt2" ? "transformer.wte.weight" : "model.embed_tokens.weight";

    // Our parameter names back to the checkpoint's: lm.X -> codi.base_model.model.X.
    private static string Describe(string name) => name.StartsWith("lm.", StringComparison.Ordinal) ? Prefixes[0] + name[3..] : name;

    // One Fill in progress: the network's parameters, which of them are filled, the keys the network has no place
    // for, the LoRA factor pairs kept until the merge, the tied-head key kept for its check, the inventory and notes.
    private sealed class CheckpointFill(CodiNetwork network, ModelConfig config, Dictionary<string, RawTensor> raw, string path)
    {
        private readonly Dictionary<string, TorchSharp.Modules.Parameter> _parameters =
            network.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        private readonly HashSet<string> _filled = new(StringComparer.Ordinal);
        private readonly List<string> _unexpected = [];
        private readonly Dictionary<string, (string? A, string? B)> _lora = new(StringComparer.Ordinal);
        private readonly string _embName = "lm." + EmbeddingName(config);
        private string? _headKey;
        private bool _hasPrj;

        public List<KeyReport> Reports { get; } = [];

        public List<string> Notes { get; } = [];

        // Classifies one key: prj weight, LoRA factor, tied head, legacy buffer, or a base weight copied in.
        public void Place(string key)
        {
            var t = raw[key];
            if (t.Type is not (StoredType.Float32 or StoredType.BFloat16 or StoredType.Float16 or StoredType.Float64))
                throw new ModelFormatException($"key '{key}' holds {t.Type} values; weights must be floating point.", path,
                    "re-save the checkpoint with float weights (bf16, fp16 or fp32).");
            if (key.StartsWith("prj.", StringComparison.Ordinal))
            {
                _hasPrj = true;
                using (var value = t.ToTensor()) Copy(key, key, value);
                Reports.Add(new KeyReport(key, t.Type, t.Shape, KeyRole.Parameter, key, null));
                raw.Remove(key);
                return;
            }
            var k = Strip(key, config.Arch);
            if (k.EndsWith(".lora_A.default.weight", StringComparison.Ordinal)
                || k.EndsWith(".lora_B.default.weight", StringComparison.Ordinal))
            {
                var module = k[..k.IndexOf(".lora_", StringComparison.Ordinal)];
                var entry = _lora.GetValueOrDefault(module);
                _lora[module] = k.Contains(".lora_A.", StringComparison.Ordinal) ? entry with { A = key } : entry with { B = key };
                Reports.Add(new KeyReport(key, t.Type, t.Shape, KeyRole.LoraFactor, "lm." + module + ".weight", null));
                return; // kept until the merge
            }
            if (k == "lm_head.weight")
            {
                _headKey = key;
                Reports.Add(new KeyReport(key, t.Type, t.Shape, KeyRole.TiedHead, _embName, null));
                return; // kept for the tie check
            }
            if (k.EndsWith(".attn.bias", StringComparison.Ordinal) || k.EndsWith(".attn.masked_bias", StringComparison.Ordinal)
                || k.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal))
            {
                Reports.Add(new KeyReport(key, t.Type, t.Shape, KeyRole.LegacyBuffer, "-",
                    "buffer of an older transformers version; not a weight"));
                raw.Remove(key);
                return;
            }
            PlaceWeight(key, k.Replace(".base_layer.", ".", StringComparison.Ordinal), t);
        }

        // A base weight under its stripped name k; GPT-2's Conv1D weights are transposed to the Linear layout.
        private void PlaceWeight(string key, string k, RawTensor t)
        {
            var transposed = config.Arch == "gpt2" && k.EndsWith(".weight", StringComparison.Ordinal)
                && Conv1D.Any(c => k.EndsWith(c + ".weight", StringComparison.Ordinal));
            // Kept in the stored type: copy_ into the float32 parameter converts (bf16 -> fp32 is exact).
            using (var value = t.ToTensor(t.ScalarType))
            {
                if (transposed && value.dim() != 2)
                    throw new ModelFormatException($"key '{key}' should be a 2-D Conv1D weight, found shape {t.ShapeText}.", path,
                        "check that the checkpoint matches config.json.");
                using var oriented = transposed ? value.t() : value.alias();
                Copy("lm." + k, key, oriented);
            }
            var role = transposed ? KeyRole.TransposedParameter : KeyRole.Parameter;
            Reports.Add(new KeyReport(key, t.Type, t.Shape, role, "lm." + k, null));
            raw.Remove(key);
        }

        private void Copy(string name, string key, Tensor value)
        {
            if (!_parameters.TryGetValue(name, out var p))
            {
                _unexpected.Add(name);
                return;
            }
            if (name == _embName && value.dim() == 2 && value.shape[0] == config.VocabSize && p.shape[0] == config.CodiVocab
                && value.shape[1] == p.shape[1])
            {
                // A plain base checkpoint lacks CODI's three appended rows; fill them with the mean row, as transformers' resize does.
                p[TensorIndex.Slice(0, config.VocabSize)].copy_(value);
                using var asFloat = value.to_type(ScalarType.Float32);
                using var mean = asFloat.mean([0], keepdim: true);
                p[TensorIndex.Slice(config.VocabSize, null)].copy_(mean.expand(3, -1));
                Notes.Add("embedding has no pad/bot/eot rows: appended the mean row three times");
            }
            else if (!value.shape.SequenceEqual(p.shape))
                throw new ModelFormatException(
                    $"key '{key}' has shape [{string.Join(", ", value.shape)}] but the model expects [{string.Join(", ", p.shape)}].", path,
                    "the checkpoint does not match config.json (hidden size, vocab size + 3, heads); "
                    + "use the base model's own config.json.");
            else p.copy_(value);
            _filled.Add(name);
        }

        // After every key is placed: prj present, every parameter filled, no key left without a place.
        public void CheckComplete()
        {
            if (!_hasPrj)
                throw new ModelFormatException("the checkpoint has no prj.* keys, so it cannot produce continuous thoughts.", path,
                    "load a CODI checkpoint (the official training code saves prj with the model).");
            var missing = _parameters.Keys.Where(k => !_filled.Contains(k)).Order(StringComparer.Ordinal).ToList();
            if (missing.Count > 0)
            {
                var first = Describe(missing[0]);
                var others = missing.Count > 1
                    ? $" (and {string.Join(", ", missing.Skip(1).Take(3).Select(Describe))}{(missing.Count > 4 ? ", …" : "")})"
                    : "";
                throw new ModelFormatException($"the checkpoint lacks {missing.Count} weight(s), e.g. '{first}'{others}.",
                    path,
                    "the file is incomplete or for another architecture/size than config.json says; save it again or fix config.json.");
            }
            if (_unexpected.Count > 0)
                throw new ModelFormatException(
                    $"the checkpoint has {_unexpected.Count} key(s) this model does not use, "
                    + $"e.g. '{Describe(_unexpected.Order(StringComparer.Ordinal).First())}'.", path,
                    "check that config.json describes this checkpoint (layer count, architecture).");
        }

        // W += alpha/r · B·A for every LoRA pair, in place; the first note says what was merged.
        public void MergeLora(LoadOptions options)
        {
            var (rank, alphaValue) = (
                options.LoraR ?? FolderSettings.Defaults.LoraR, options.LoraAlpha ?? FolderSettings.Defaults.LoraAlpha);
            var scale = alphaValue / rank;
            foreach (var (module, (a, b)) in _lora)
            {
                if (a is null || b is null)
                    throw new ModelFormatException($"LoRA module '{module}' has only its {(a is null ? "lora_B" : "lora_A")} factor.", path,
                        "the checkpoint is incomplete; save it again.");
                if (!_parameters.TryGetValue("lm." + module + ".weight", out var weight))
                    throw new ModelFormatException($"LoRA factors '{a}' have no base weight '{module}.base_layer.weight'.", path,
                        "the checkpoint is incomplete; save it again.");
                using var A = raw[a].ToTensor();
                using var B = raw[b].ToTensor();
                if (A.shape[0] != rank)
                    throw new ModelFormatException($"key '{a}' has LoRA rank {A.shape[0]}, but model.lora.r is {rank}.", path,
                        $"set model.lora.r: {A.shape[0]} (and the matching alpha) in the spec.");
                // B·A is [out, in], the Linear layout; added in place (no temporaries of the weight's size).
                if (A.dim() != 2 || B.dim() != 2 || B.shape[1] != A.shape[0]
                    || B.shape[0] != weight.shape[0] || A.shape[1] != weight.shape[1])
                    throw new ModelFormatException(
                        $"LoRA factors of '{module}' ([{string.Join(", ", B.shape)}]·[{string.Join(", ", A.shape)}]) "
                        + $"do not fit a [{string.Join(", ", weight.shape)}] weight.", path,
                        "check that the checkpoint matches config.json.");
                weight.addmm_(B, A, beta: 1, alpha: (float)scale);
                raw.Remove(a);
                raw.Remove(b);
            }
            Notes.Insert(0, _lora.Count > 0
                ? $"merged LoRA into {_lora.Count} modules (r={rank}, alpha={alphaValue}, scale {scale}) in float32"
                : "no LoRA factors: a plain base-model checkpoint");
        }

        // A stored lm_head.weight is never loaded (the embedding is the head); the note says whether it agreed.
        public void CheckTiedHead()
        {
            if (_headKey is null) return;
            using var head = raw[_headKey].ToTensor();
            var table = _parameters[_embName];
            var same = head.shape.SequenceEqual(table.shape) && head.allclose(table, 0, 0);
            Notes.Add(same
                ? "lm_head.weight equals the embedding (tied)"
                : "lm_head.weight differs from the embedding; the embedding is used as the head (tied, as tie_weights() does)");
        }
    }
}
