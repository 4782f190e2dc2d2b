using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Cli;

/// <summary>
/// The CI recipe users copy (.github/workflows/codilab.yml) and its plain-script twin (ci/reports.sh) name the same build
/// targets, every one of which build/build.cake defines, and the README points at both.
/// </summary>
public sealed class CiRecipeTests
{
    private static string Read(string relative) => File.ReadAllText(Path.Combine(TestPaths.Repo, relative));

    [Fact]
    public void The_workflow_and_the_script_run_the_same_targets_and_the_workflow_uploads_the_site()
    {
        var workflow = Read(".github/workflows/codilab.yml");
        var script = Read("ci/reports.sh");
        var cake = Read("build/build.cake");

        foreach (var target in new[] { "Compare", "Verify", "Experiments", "Report" })
        {
            Assert.Contains($"--target={target}", workflow, StringComparison.Ordinal);
            Assert.Contains($"--target={target}", script, StringComparison.Ordinal);
            Assert.Contains($"Task(\"{target}\")", cake, StringComparison.Ordinal);
        }
        Assert.Contains("--target=$phase", script, StringComparison.Ordinal);
        Assert.Contains("--target=$phase", workflow, StringComparison.Ordinal);
        Assert.Contains("dotnet-version: 10.0.x", workflow, StringComparison.Ordinal);
        Assert.Contains("uses: actions/upload-artifact@", workflow, StringComparison.Ordinal);
        Assert.Contains("path: artifacts/site", workflow, StringComparison.Ordinal);
        var readme = Read("README.md");
        Assert.Contains("(.github/workflows/codilab.yml)", readme, StringComparison.Ordinal);
        Assert.Contains("(ci/reports.sh)", readme, StringComparison.Ordinal);
    }
}
