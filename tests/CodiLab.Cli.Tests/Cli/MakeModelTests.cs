using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Cli;

/// <summary><c>make-model</c> never overwrites a folder that holds files unless asked to.</summary>
public sealed class MakeModelTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (int Code, string Out, string Error) Invoke(params string[] args) => CliRun.Invoke(null, args);

    [Fact]
    public void Non_empty_folder_is_refused_without_force_and_left_untouched()
    {
        var weights = _dir.Write("ckpt/model.safetensors", "precious weights");
        var folder = Path.GetDirectoryName(weights)!;

        var (code, _, error) = Invoke("make-model", "--arch", "gpt2", "--seed", "1", "--out", folder);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("the output folder is not empty (1 entries: model.safetensors)", error, StringComparison.Ordinal);
        Assert.Contains("Fix: choose an empty folder or pass --force", error, StringComparison.Ordinal);
        Assert.Equal("precious weights", File.ReadAllText(weights));
        Assert.Equal(["model.safetensors"], Directory.GetFileSystemEntries(folder).Select(Path.GetFileName));
    }

    [Fact]
    public void Force_overwrites_the_model_and_names_the_files_it_kept()
    {
        var folder = Path.Combine(_dir.Path, "model");
        Assert.Equal(0, Invoke("make-model", "--arch", "llama", "--seed", "1", "--out", folder).Code);
        var first = File.ReadAllBytes(Path.Combine(folder, "model.safetensors"));
        _dir.Write("model/tokenizer.json", "{}");

        var (code, output, _) = Invoke("make-model", "--arch", "llama", "--seed", "2", "--out", folder, "--force");

        Assert.Equal(0, code);
        Assert.NotEqual(first, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        Assert.Contains("note: kept 1 file(s) make-model does not write, which the loader may still read: tokenizer.json", output,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_existing_folder_needs_no_force()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir.Path, "empty")).FullName;

        var (code, output, _) = Invoke("make-model", "--arch", "gpt2", "--seed", "1", "--out", folder);

        Assert.Equal(0, code);
        Assert.True(File.Exists(Path.Combine(folder, "model.safetensors")));
        Assert.DoesNotContain("note: kept", output, StringComparison.Ordinal);
    }

    [Fact]
    public void File_in_place_of_the_folder_is_refused()
    {
        var file = _dir.Write("model", "x");

        var (code, _, error) = Invoke("make-model", "--arch", "gpt2", "--out", file);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("a file is in the place of the output folder", error, StringComparison.Ordinal);
    }
}
