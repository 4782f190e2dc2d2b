using System.Text.Json;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Cli;

/// <summary>What `run`, `plan` and `compare` print: one plain line per stage asked for, and JSON that parses.</summary>
public sealed class OutputTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private (int Code, string Out, string Error) Invoke(params string[] args) =>
        CliRun.Invoke(Path.Combine(_dir.Path, "artifacts"), args);

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public void A_cached_stage_prints_one_line_with_its_key_and_folder_and_no_escape_codes()
    {
        var (first, firstOut, _) = Invoke("run", "default:tiny-llama", "--stage", "model");
        var (again, againOut, _) = Invoke("run", "default:tiny-llama", "--stage", "model");

        Assert.Equal(0, first);
        Assert.Matches(@"^\[tiny-llama\] model: ran in [0-9.]+ s \([0-9a-f]{12}\) -> .*tiny-llama[/\\]Phase1$", Lines(firstOut)[^1]);
        Assert.Equal(0, again);
        var line = Assert.Single(Lines(againOut));
        Assert.Matches(@"^\[tiny-llama\] model: cached \([0-9a-f]{12}\) -> .*tiny-llama[/\\]Phase1$", line);
        Assert.DoesNotContain('\u001b', firstOut + againOut);
    }

    [Fact]
    public void Run_json_prints_one_object_on_stdout_and_the_log_on_stderr()
    {
        var (code, stdout, stderr) = Invoke("run", "default:tiny-gpt2", "--stage", "model", "--json");

        Assert.Equal(0, code);
        var run = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("tiny-gpt2", run.GetProperty("experiment").GetString());
        Assert.Equal(["model"], run.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("stage").GetString()));
        Assert.All(run.GetProperty("stages").EnumerateArray(), s => Assert.Equal("ran", s.GetProperty("state").GetString()));
        Assert.Empty(run.GetProperty("reports").EnumerateArray());
        Assert.Contains("[tiny-gpt2] model: ran in ", stderr, StringComparison.Ordinal);

        var (_, cachedOut, cachedErr) = Invoke("run", "default:tiny-gpt2", "--stage", "model", "--json");
        var states = JsonDocument.Parse(cachedOut).RootElement.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("state").GetString());
        Assert.Equal(["cached"], states);
        Assert.Single(Lines(cachedErr));
    }

    [Fact]
    public void Plan_json_names_each_stage_view_and_the_report_files()
    {
        var (code, stdout, _) = Invoke("plan", "default:tiny-llama", "--json");

        Assert.Equal(0, code);
        var stages = JsonDocument.Parse(stdout).RootElement[0].GetProperty("stages").EnumerateArray().ToList();
        Assert.All(stages, s => Assert.EndsWith(Path.Combine("tiny-llama", s.GetProperty("phase").GetString()!), s.GetProperty("view").GetString(),
            StringComparison.Ordinal));
        var report = stages.Single(s => s.GetProperty("stage").GetString() == "report");
        Assert.EndsWith(Path.Combine("tiny-llama", "Phase1", "report.html"), Assert.Single(report.GetProperty("reports").EnumerateArray()).GetString(),
            StringComparison.Ordinal);
        var heads = stages.Single(s => s.GetProperty("stage").GetString() == "heads-report");
        Assert.EndsWith(".md", Assert.Single(heads.GetProperty("reports").EnumerateArray()).GetString(), StringComparison.Ordinal);
        Assert.All(stages.Where(s => !s.GetProperty("stage").GetString()!.EndsWith("report", StringComparison.Ordinal)),
            s => Assert.Empty(s.GetProperty("reports").EnumerateArray()));
    }

    [Fact]
    public void Compare_json_with_one_spec_is_an_argument_error_and_prints_no_json()
    {
        var (code, stdout, stderr) = Invoke("compare", "default:tiny-llama", "--json");

        Assert.Equal(ExitCodes.InvalidSpec, code);
        Assert.Empty(stdout);
        Assert.Contains("compare needs two specs", stderr, StringComparison.Ordinal);
    }
}
