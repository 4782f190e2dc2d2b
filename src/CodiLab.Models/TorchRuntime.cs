using System.Runtime.InteropServices;
using TorchSharp;

namespace CodiLab.Models;

/// <summary>
/// Loads the native libtorch once per process. By default TorchSharp finds the backend package's libraries
/// itself; with a libtorch folder (<c>--libtorch</c> or <c>LIBTORCH_PATH</c>, e.g. a Python PyTorch install's
/// <c>torch/lib</c>) its libraries are loaded first, CUDA ones included when present (docs/platform.md).
/// </summary>
public static class TorchRuntime
{
    private static readonly object Gate = new();
    private static string? _description;

    /// <summary>The environment variable naming an external libtorch folder.</summary>
    public const string LibTorchVariable = "LIBTORCH_PATH";

    /// <summary>Initialises libtorch (idempotent) and returns a one-line description of what was loaded.</summary>
    public static string Initialize(string? libtorchFolder = null)
    {
        lock (Gate)
        {
            if (_description is not null) return _description;
            libtorchFolder ??= Environment.GetEnvironmentVariable(LibTorchVariable);
            var cuda = false;
            if (!string.IsNullOrEmpty(libtorchFolder))
            {
                if (!Directory.Exists(libtorchFolder))
                    throw new CodiLabException(
                        $"the libtorch folder {libtorchFolder} (from --libtorch or {LibTorchVariable}) does not exist.", libtorchFolder,
                        "name a folder holding libtorch's libraries (libc10.so, libtorch_cpu.so, …), "
                        + "e.g. a Python PyTorch install's torch/lib.",
                        ExitCodes.BadInput);
                foreach (var lib in new[] { "libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so" })
                {
                    var path = Path.Combine(libtorchFolder, lib);
                    if (!File.Exists(path)) continue;
                    NativeLibrary.Load(path);
                    cuda |= lib.Contains("cuda", StringComparison.Ordinal);
                }
                var bridge = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
                if (File.Exists(bridge)) NativeLibrary.Load(bridge);
            }
            try
            {
                if (cuda) torch.InitializeDeviceType(DeviceType.CUDA);
                _description = $"TorchSharp {typeof(torch).Assembly.GetName().Version}, "
                    + $"libtorch {(string.IsNullOrEmpty(libtorchFolder) ? "from the NuGet backend" : libtorchFolder)}, "
                    + $"CUDA {(torch.cuda.is_available() ? "available" : "not available")}";
            }
            catch (Exception e)
                when (e is NotSupportedException or DllNotFoundException or TypeInitializationException or InvalidOperationException)
            {
                throw new CodiLabException(
                    $"libtorch could not be loaded ({e.GetBaseException().Message.Split('\n')[0].Trim()}).",
                    libtorchFolder ?? "the NuGet backend",
                    $"builds with TorchBackend=external carry no libtorch: set {LibTorchVariable} or --libtorch to a libtorch folder "
                    + "(e.g. a Python PyTorch install's torch/lib); otherwise rebuild with the default TorchBackend=cpu.",
                    ExitCodes.Failure, e);
            }
            return _description;
        }
    }
}
