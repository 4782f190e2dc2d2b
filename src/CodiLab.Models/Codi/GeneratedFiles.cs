using System.Text.Json.Serialization;

namespace CodiLab.Models.Codi;

/// <summary>config.json of a generated GPT-2-architecture model, with Hugging Face's field names.</summary>
internal sealed record Gpt2ConfigFile(
    [property: JsonPropertyName("model_type")] string ModelType,
    [property: JsonPropertyName("architectures")] string[] Architectures,
    [property: JsonPropertyName("vocab_size")] int VocabSize,
    [property: JsonPropertyName("n_embd")] int Hidden,
    [property: JsonPropertyName("n_layer")] int Layers,
    [property: JsonPropertyName("n_head")] int Heads,
    [property: JsonPropertyName("n_inner")] int Inner,
    [property: JsonPropertyName("n_positions")] int Positions,
    [property: JsonPropertyName("n_ctx")] int Context,
    [property: JsonPropertyName("activation_function")] string Activation,
    [property: JsonPropertyName("layer_norm_epsilon")] double LayerNormEpsilon,
    [property: JsonPropertyName("bos_token_id")] int Bos,
    [property: JsonPropertyName("eos_token_id")] int Eos,
    [property: JsonPropertyName("tie_word_embeddings")] bool TieWordEmbeddings);

/// <summary>Llama-3's rope_scaling block.</summary>
internal sealed record RopeScalingFile(
    [property: JsonPropertyName("rope_type")] string RopeType,
    [property: JsonPropertyName("factor")] double Factor,
    [property: JsonPropertyName("low_freq_factor")] double LowFreqFactor,
    [property: JsonPropertyName("high_freq_factor")] double HighFreqFactor,
    [property: JsonPropertyName("original_max_position_embeddings")] int OriginalMaxPositions);

/// <summary>config.json of a generated LLaMA-3-architecture model, with Hugging Face's field names.</summary>
internal sealed record LlamaConfigFile(
    [property: JsonPropertyName("model_type")] string ModelType,
    [property: JsonPropertyName("architectures")] string[] Architectures,
    [property: JsonPropertyName("vocab_size")] int VocabSize,
    [property: JsonPropertyName("hidden_size")] int Hidden,
    [property: JsonPropertyName("num_hidden_layers")] int Layers,
    [property: JsonPropertyName("num_attention_heads")] int Heads,
    [property: JsonPropertyName("num_key_value_heads")] int KvHeads,
    [property: JsonPropertyName("head_dim")] int HeadDim,
    [property: JsonPropertyName("intermediate_size")] int Intermediate,
    [property: JsonPropertyName("max_position_embeddings")] int MaxPositions,
    [property: JsonPropertyName("rms_norm_eps")] double RmsNormEps,
    [property: JsonPropertyName("rope_theta")] double RopeTheta,
    [property: JsonPropertyName("rope_scaling")] RopeScalingFile RopeScaling,
    [property: JsonPropertyName("hidden_act")] string HiddenAct,
    [property: JsonPropertyName("bos_token_id")] int Bos,
    [property: JsonPropertyName("eos_token_id")] int[] Eos,
    [property: JsonPropertyName("tie_word_embeddings")] bool TieWordEmbeddings);

/// <summary>codi.json of a generated model: its CODI settings, special ids and where it came from.</summary>
internal sealed record CodiSettingsFile(
    [property: JsonPropertyName("arch")] string Arch,
    [property: JsonPropertyName("lora_r")] int LoraR,
    [property: JsonPropertyName("lora_alpha")] double LoraAlpha,
    [property: JsonPropertyName("num_latent")] int NumLatent,
    [property: JsonPropertyName("vocab_size")] int VocabSize,
    [property: JsonPropertyName("pad")] int Pad,
    [property: JsonPropertyName("bot")] int Bot,
    [property: JsonPropertyName("eot")] int Eot,
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("generator")] string Generator,
    [property: JsonPropertyName("tokenizer")] string Tokenizer);
