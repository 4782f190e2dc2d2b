using System.Globalization;

namespace CodiLab.Specs;

/// <summary>The base architecture of a CODI model.</summary>
public enum Arch
{
    /// <summary>LLaMA-3.x (RoPE, RMSNorm, grouped-query attention).</summary>
    Llama,
    /// <summary>GPT-2 (learned positions, LayerNorm, Conv1D projections).</summary>
    Gpt2,
}

/// <summary>Where an experiment's model comes from.</summary>
public enum ModelSource
{
    /// <summary>A CODI checkpoint folder at <c>model.path</c>.</summary>
    Checkpoint,
    /// <summary>A tiny random CODI model generated from the seed.</summary>
    Generated,
}

/// <summary>Where an experiment's problems come from.</summary>
public enum DatasetSource
{
    /// <summary>GSM8K JSONL under the data root.</summary>
    Gsm8k,
    /// <summary>GSM8K-style problems generated from the seed.</summary>
    Synthetic,
}

/// <summary>A GSM8K split.</summary>
public enum DatasetSplit
{
    /// <summary>The 7,473 training problems.</summary>
    Train,
    /// <summary>The 1,319 test problems.</summary>
    Test,
}

/// <summary>Which matrix convention leads the report.</summary>
public enum Matrix
{
    /// <summary>The seed's 6×6, off-by-one included.</summary>
    Seed,
    /// <summary>The labelled latent view.</summary>
    Latent,
}

/// <summary>The compute dtype.</summary>
public enum ComputeDType
{
    /// <summary>float32.</summary>
    Float32,
    /// <summary>bfloat16.</summary>
    Bfloat16,
}

/// <summary>The compute device a spec asks for.</summary>
public enum DeviceChoice
{
    /// <summary>CUDA when the loaded libtorch has it, else the CPU.</summary>
    Auto,
    /// <summary>The CPU.</summary>
    Cpu,
    /// <summary>CUDA.</summary>
    Cuda,
}

/// <summary>The phases of an experiment.</summary>
public enum Phase
{
    /// <summary>Sample, extract, aggregate, analyze, figures, report.</summary>
    Phase1,
    /// <summary>Per-head metrics and critical heads.</summary>
    Phase2,
    /// <summary>Causal interventions.</summary>
    Phase3,
    /// <summary>The whole data set.</summary>
    Phase4,
}

/// <summary>Words of the spec for enum values: the schema's spelling (lowercase, phases as written).</summary>
public static class SpecWords
{
    /// <summary>The word a spec writes for an enum value.</summary>
    public static string Word<T>(this T value) where T : struct, Enum =>
        value is Phase ? value.ToString() : value.ToString().ToLowerInvariant();

    /// <summary>Parses a schema word into its enum value (the binder has already checked it).</summary>
    public static T Parse<T>(string word) where T : struct, Enum => Enum.Parse<T>(word, ignoreCase: true);
}

/// <summary>How many problems to sample: all of them, or a count.</summary>
public abstract record SampleSize
{
    private SampleSize() { }

    /// <summary>Every problem of the data set.</summary>
    public sealed record All : SampleSize
    {
        /// <inheritdoc />
        public override string ToString() => "all";
    }

    /// <summary>A fixed count.</summary>
    public sealed record Count(int N) : SampleSize
    {
        /// <inheritdoc />
        public override string ToString() => N.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The count, or null for all.</summary>
    public int? OrNull => this is Count c ? c.N : null;

    internal static SampleSize From(object? value) => value is long n ? new Count(checked((int)n)) : new All();
}

/// <summary>Problems per batch: chosen from the memory available, or fixed.</summary>
public abstract record BatchSize
{
    private BatchSize() { }

    /// <summary>The largest batch whose estimated peak fits the memory budget.</summary>
    public sealed record Auto : BatchSize
    {
        /// <inheritdoc />
        public override string ToString() => "auto";
    }

    /// <summary>A fixed batch size.</summary>
    public sealed record Fixed(int N) : BatchSize
    {
        /// <inheritdoc />
        public override string ToString() => N.ToString(CultureInfo.InvariantCulture);
    }

    internal static BatchSize From(object? value) => value is long n ? new Fixed(checked((int)n)) : new Auto();
}

/// <summary>LoRA settings of the checkpoint.</summary>
public sealed record LoraSection(int R, double Alpha);

/// <summary>The <c>model</c> section.</summary>
/// <param name="Arch">The base architecture.</param>
/// <param name="Source">Checkpoint folder or generated.</param>
/// <param name="Path">model.path as written (null for generated models).</param>
/// <param name="FullPath">model.path expanded (<c>~</c>, relative to the spec file).</param>
/// <param name="TokenizerPath">model.tokenizer expanded, or null (then model.path).</param>
/// <param name="Lora">LoRA rank and alpha.</param>
/// <param name="NumLatent">Continuous thoughts after BOT.</param>
/// <param name="DType">Compute dtype.</param>
/// <param name="Device">Compute device.</param>
public sealed record ModelSection(
    Arch Arch, ModelSource Source, string? Path, string? FullPath, string? TokenizerPath, LoraSection Lora, int NumLatent,
    ComputeDType DType, DeviceChoice Device)
{
    /// <summary>True for a generated tiny model.</summary>
    public bool IsGenerated => Source == ModelSource.Generated;
}

/// <summary>The <c>dataset</c> section.</summary>
/// <param name="Source">GSM8K or synthetic.</param>
/// <param name="Split">The GSM8K split.</param>
/// <param name="Path">dataset.path as written (relative to the data root), null for synthetic sets.</param>
/// <param name="FullPath">dataset.path expanded when written with <c>~</c> or rooted; else null (relative to the data root).</param>
/// <param name="Sha256">The expected SHA-256 of the JSONL, if any.</param>
/// <param name="Size">Synthetic only: how many problems to generate.</param>
/// <param name="Sample">How many to sample.</param>
public sealed record DatasetSection(
    DatasetSource Source, DatasetSplit Split, string? Path, string? FullPath, string? Sha256, int Size, SampleSize Sample)
{
    /// <summary>True for a generated synthetic set.</summary>
    public bool IsSynthetic => Source == DatasetSource.Synthetic;
}

/// <summary>The <c>extraction</c> section.</summary>
public sealed record ExtractionSection(Matrix Matrix, BatchSize BatchSize, int MaxNewTokens, double MaxFailures)
{
    /// <summary>
    /// How many of <paramref name="problems"/> may fail: <paramref name="maxFailures"/> itself when at least 1, else that
    /// fraction of them (rounded down).
    /// </summary>
    public static int Allowed(double maxFailures, int problems) =>
        maxFailures >= 1 ? (int)Math.Min(Math.Floor(maxFailures), int.MaxValue) : (int)Math.Floor(maxFailures * problems);
}

/// <summary>The <c>analysis</c> section.</summary>
public sealed record AnalysisSection(double HubRatioThreshold, double SequentialThreshold, double SkipThreshold, int TopHeads);

/// <summary>The <c>audit</c> section: how far <c>verify</c> lets a rerun value be from its pin.</summary>
/// <param name="Tolerance">Absolute difference allowed.</param>
/// <param name="RelativeTolerance">Difference allowed per unit of the pinned value's magnitude.</param>
public sealed record AuditSection(double Tolerance, double RelativeTolerance);
