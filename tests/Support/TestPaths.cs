using System.Runtime.CompilerServices;
using Xunit;

namespace CodiLab.Tests.Support;

/// <summary>Where the repository and the shared folder (../shared beside the clone) are.</summary>
public static class TestPaths
{
    /// <summary>The repository root (the folder holding CodiLab.slnx).</summary>
    public static string Repo { get; } = FindRepo();

    /// <summary>The shared folder: $CODILAB_SHARED, else ../shared beside the repository; null if absent.</summary>
    public static string? Shared { get; } = FindShared();

    /// <summary>The GSM8K data root: $CODILAB_DATA_DIR when it holds gsm8k/, else the shared folder's data/.</summary>
    public static string SharedData
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("CODILAB_DATA_DIR");
            if (!string.IsNullOrEmpty(env) && Directory.Exists(Path.Combine(env, "gsm8k"))) return Path.GetFullPath(env);
            return Path.Combine(Shared ?? throw new InvalidOperationException("../shared is not beside this clone and CODILAB_DATA_DIR does not hold gsm8k/"), "data");
        }
    }

    /// <summary>A reference fixture folder (tiny-gpt2, tiny-llama) under ../shared/reference/fixtures.</summary>
    public static string Fixture(string name) =>
        System.IO.Path.Combine(Shared ?? throw new InvalidOperationException("../shared is not beside this clone"), "reference", "fixtures", name);

    /// <summary>Why a test that needs ../shared is skipped.</summary>
    public const string SharedMissing = "../shared (GSM8K data and reference fixtures) is not beside this clone";

    /// <summary>
    /// The name a skipped test is listed under. `dotnet test` at its default verbosity prints a skipped test's name but not
    /// its Skip reason (that needs --logger "console;verbosity=normal", which also lists every passed test), so the reason
    /// rides in the name: the test file's name (its class, by convention), the method and the reason.
    /// </summary>
    public static string SkippedName(string file, string test, string reason = SharedMissing) =>
        $"{Path.GetFileNameWithoutExtension(file.Replace('\\', '/').Split('/')[^1])}.{test} [skipped: {reason}]";

    private static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CodiLab.slnx"))) return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root (CodiLab.slnx) above " + AppContext.BaseDirectory);
    }

    private static string? FindShared()
    {
        var env = Environment.GetEnvironmentVariable("CODILAB_SHARED");
        if (!string.IsNullOrEmpty(env)) return env;
        var candidate = Path.GetFullPath(Path.Combine(Repo, "..", "shared"));
        return Directory.Exists(Path.Combine(candidate, "data", "gsm8k")) ? candidate : null;
    }
}

/// <summary>
/// A fact that needs ../shared (GSM8K data, reference fixtures). Skipped on a user's clone without it; in CI
/// (CI=true) it always runs, so a missing shared folder fails there instead of passing unseen.
/// </summary>
public sealed class SharedFactAttribute : FactAttribute
{
    /// <summary>Sets Skip (and a display name carrying the reason) when the shared folder is absent outside CI.</summary>
    public SharedFactAttribute([CallerMemberName] string test = "", [CallerFilePath] string file = "")
    {
        if (TestPaths.Shared is not null || Environment.GetEnvironmentVariable("CI") == "true") return;
        Skip = TestPaths.SharedMissing;
        DisplayName = TestPaths.SkippedName(file, test);
    }
}

/// <summary>A temporary folder deleted at the end of a test.</summary>
public sealed class TempFolder : IDisposable
{
    /// <summary>Creates it.</summary>
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "codilab-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>Writes a file under it and returns its path.</summary>
    public string Write(string relative, string text)
    {
        var path = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!Directory.Exists(Path)) return;
        // Committed cache entries are read-only; a user other than root cannot delete them until they are writable.
        if (!OperatingSystem.IsWindows())
        {
            foreach (var dir in Directory.EnumerateDirectories(Path, "*", SearchOption.AllDirectories).Prepend(Path))
            {
                const UnixFileMode owner = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
                File.SetUnixFileMode(dir, File.GetUnixFileMode(dir) | owner);
            }
        }
        else
        {
            foreach (var file in Directory.EnumerateFiles(Path, "*", SearchOption.AllDirectories))
                File.SetAttributes(file, FileAttributes.Normal);
        }
        Directory.Delete(Path, recursive: true);
    }
}

/// <summary>Changes files the way a stray editor or script would, whatever their write protection.</summary>
public static class Tamper
{
    /// <summary>Overwrites a file (a read-only one too) with <paramref name="text"/>.</summary>
    public static void Write(string path, string text)
    {
        if (OperatingSystem.IsWindows()) File.SetAttributes(path, FileAttributes.Normal);
        else File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.UserWrite);
        File.WriteAllText(path, text);
    }
}

/// <summary>A theory that needs ../shared; skipped like <see cref="SharedFactAttribute"/>.</summary>
public sealed class SharedTheoryAttribute : TheoryAttribute
{
    /// <summary>Sets Skip (and a display name carrying the reason) when the shared folder is absent outside CI.</summary>
    public SharedTheoryAttribute([CallerMemberName] string test = "", [CallerFilePath] string file = "")
    {
        if (TestPaths.Shared is not null || Environment.GetEnvironmentVariable("CI") == "true") return;
        Skip = TestPaths.SharedMissing;
        DisplayName = TestPaths.SkippedName(file, test);
    }
}
