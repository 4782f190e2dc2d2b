using System.Text.Json;
using System.Text.Json.Nodes;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Cli;

/// <summary><c>codilab doctor</c> as a user runs it: readable lines or JSON, exit 3 with the fix on a failed check.</summary>
public sealed class DoctorCommandTests
{
    [SharedFact]
    public void The_command_prints_lines_or_json_and_exits_3_on_a_failed_check()
    {
        using var artifacts = new TempFolder();
        (int, string, string) Invoke(params string[] args) => CliRun.Invoke(artifacts.Path, args);
        var (ok, lines, _) = Invoke("doctor", TestPaths.Fixture("tiny-llama"));
        Assert.Equal(0, ok);
        Assert.Contains("ok    tokenizer", lines, StringComparison.Ordinal);
        Assert.Contains("10 checks: 10 passed, 0 failed, 0 skipped", lines, StringComparison.Ordinal);

        // The fixture with codi.json claiming a LoRA rank its factors do not have.
        using var broken = new TempFolder();
        var fixture = TestPaths.Fixture("tiny-llama");
        foreach (var file in Directory.GetFiles(fixture, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(broken.Path, Path.GetRelativePath(fixture, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        var codi = JsonNode.Parse(File.ReadAllText(Path.Combine(fixture, "codi.json")))!;
        codi["lora_r"] = 64;
        broken.Write("codi.json", codi.ToJsonString());
        var (code, text, _) = Invoke("doctor", broken.Path);
        Assert.Equal(CodiLab.ExitCodes.BadInput, code);
        Assert.Contains("FAIL  lora", text, StringComparison.Ordinal);
        Assert.Contains("fix: set \"lora_r\": 128", text, StringComparison.Ordinal);

        var (jsonCode, json, _) = Invoke("doctor", broken.Path, "--json");
        Assert.Equal(CodiLab.ExitCodes.BadInput, jsonCode);
        var root = JsonDocument.Parse(json).RootElement;
        Assert.False(root.GetProperty("ok").GetBoolean());
        var lora = root.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "lora");
        Assert.Equal("fail", lora.GetProperty("status").GetString());
        Assert.StartsWith("set \"lora_r\": 128", lora.GetProperty("fix").GetString(), StringComparison.Ordinal);
    }

    // Each broken folder starts from a fixture copy and breaks one thing.
}
