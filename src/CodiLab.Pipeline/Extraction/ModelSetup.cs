using CodiLab.Models;
using CodiLab.Models.Codi;
using CodiLab.Specs;
using TorchSharp;

namespace CodiLab.Pipeline.Extraction;

/// <summary>Turns a spec's model section into a loaded <see cref="CodiModel"/>: device, dtype, LoRA, batch size.</summary>
public static class ModelSetup
{
    /// <summary>The device a spec asks for: auto is CUDA when the loaded libtorch has it.</summary>
    public static string Device(DeviceChoice choice) => choice switch
    {
        DeviceChoice.Auto => torch.cuda.is_available() ? "cuda" : "cpu",
        _ => choice.Word(),
    };

    /// <summary>
    /// Loads a model folder as the spec's model section describes it (<paramref name="folderSettings"/>: the folder's own
    /// LoRA settings); a large network is kept in, and later mapped from, the merged-weights cache under
    /// <paramref name="cacheRoot"/> when one is given.
    /// </summary>
    public static CodiModel Load(
        string folder, string? tokenizer, ModelSection model, string where, bool folderSettings = false, string? cacheRoot = null)
    {
        TorchRuntime.Initialize();
        var device = Device(model.Device);
        if (device == "cuda" && !torch.cuda.is_available())
            throw new CodiLabException("model.device is cuda but the loaded libtorch has no CUDA.", where,
                $"load a CUDA libtorch with --libtorch DIR or {TorchRuntime.LibTorchVariable} (e.g. a Python PyTorch install's torch/lib), "
                + "or set model.device: cpu.", ExitCodes.BadInput);
        return CodiModel.Load(folder, new CodiOptions(tokenizer,
            folderSettings ? new LoadOptions(MergedCache: MergedCacheOf(cacheRoot))
                : new LoadOptions(model.Lora.R, model.Lora.Alpha, MergedCache: MergedCacheOf(cacheRoot)),
            DTypes.Parse(model.DType.Word(), where), device, folderSettings ? null : model.NumLatent));
    }

    /// <summary>
    /// The merged-weights cache's folder under a cache root (<see cref="MergedWeights"/>); its name starts with a dot, as
    /// the cache's other folders that are not stage entries do, so entry checks pass it by. <c>CODILAB_MERGED_WEIGHTS=off</c>
    /// turns it off (an entry takes the network's float32 size on disk).
    /// </summary>
    public static string? MergedCacheOf(string? cacheRoot) =>
        cacheRoot is null || Environment.GetEnvironmentVariable("CODILAB_MERGED_WEIGHTS") is "off" ? null
            : Path.Combine(cacheRoot, ".merged-weights");

    /// <summary>
    /// The batch size a spec asks for. auto: what <see cref="CodiModel.AutoBatchSize"/> fits in a quarter of the
    /// memory available to the process on the CPU, or in 16 GiB on CUDA (TorchSharp reports no free device memory).
    /// </summary>
    public static int BatchSize(BatchSize requested, CodiModel model, int maxPromptTokens)
    {
        if (requested is BatchSize.Fixed f) return f.N;
        var budget = model.Options.Device == "cuda" ? 16L << 30 : GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4;
        return model.AutoBatchSize(maxPromptTokens, budget);
    }
}
