using System.Globalization;
using System.Text.Json.Nodes;
using CodiLab.Analysis;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Cli;

/// <summary><c>codilab pin</c> and <c>codilab verify</c>'s audit through the command line: exit codes and what is printed.</summary>
public sealed class PinVerifyCommandTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Pins => Path.Combine(_dir.Path, "pins");

    private (int Code, string Out, string Error) Invoke(params string[] args) =>
        CliRun.Invoke(Path.Combine(_dir.Path, "artifacts"), args);

    [Fact]
    public void A_changed_pinned_value_makes_verify_exit_with_the_drift_code_and_show_pinned_against_rerun()
    {
        var spec = _dir.Write("pin-cli.yaml", "extends: default:tiny-llama\nname: pin-cli\ndataset: { sample: 8 }\nphases: [Phase1]\n");
        var pinned = Invoke("pin", spec, "--pins", Pins, "--run");
        Assert.True(pinned.Code == 0, pinned.Error);
        Assert.Contains("pinned pin-cli Phase1: ", pinned.Out, StringComparison.Ordinal);
        var file = Path.Combine(Pins, "pin-cli", "Phase1.json");
        var pin = JsonNode.Parse(File.ReadAllText(file))!;
        var hub = pin["summary"]!["seed"]!["attention_summary"]!["hub_analysis"]!.AsObject();
        var truth = CanonicalJson.NumberOf(hub["hub_score"])!.Value;
        hub["hub_score"] = truth + 0.5;
        File.WriteAllText(file, pin.ToJsonString());

        var (code, output, error) = Invoke("verify", spec, "--pins", Pins, "--json");

        Assert.Equal(ExitCodes.Drift, code);
        var json = JsonNode.Parse(output)!; // stdout is the JSON alone; the text went to stderr
        Assert.Equal(ExitCodes.Drift, json["exit_code"]!.GetValue<int>());
        Assert.False(json["experiments"]![0]!["audit"]!["passed"]!.GetValue<bool>());
        Assert.Contains("audit pin-cli Phase1: DRIFT in 1 of ", error, StringComparison.Ordinal);
        Assert.Contains("error: pinned values drifted in pin-cli Phase1", error, StringComparison.Ordinal);
        var (p, r) = ((truth + 0.5).ToString("R", CultureInfo.InvariantCulture), truth.ToString("R", CultureInfo.InvariantCulture));
        Assert.Contains($"seed.attention_summary.hub_analysis.hub_score: pinned {p}, rerun {r}, delta -0.5", error, StringComparison.Ordinal);
        var md = File.ReadAllText(Path.Combine(_dir.Path, "artifacts", "pin-cli", "audit", "audit.md"));
        Assert.Contains($"| `seed.attention_summary.hub_analysis.hub_score` | {p} | {r} | -0.5 (> ", md, StringComparison.Ordinal);
        Assert.Contains("| **drift** |", md, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);

        // Regenerating is one command: with no spec named, pin re-pins every pinned experiment from the spec its pin names.
        var repinned = Invoke("pin", "--pins", Pins);
        Assert.True(repinned.Code == 0, repinned.Error);
        Assert.Equal(truth, CanonicalJson.NumberOf(JsonNode.Parse(File.ReadAllText(file))!["summary"]!["seed"]!["attention_summary"]!
            ["hub_analysis"]!["hub_score"]));
        var again = Invoke("verify", "--pins", Pins);
        Assert.True(again.Code == 0, again.Error);
        Assert.Contains("audit pin-cli Phase1: pass, ", again.Out, StringComparison.Ordinal);
    }

    public static TheoryData<string, string[], int, string> Refusals() => new()
    {
        { "unfinished", ["pin", "default:tiny-llama"], ExitCodes.BadInput, "Phase1 of experiment 'tiny-llama' is not finished, so there is nothing to pin" },
        { "phase4", ["pin", "default:tiny-llama", "--phase", "Phase4"], ExitCodes.BadInput, "Phase4 of experiment 'tiny-llama' is not finished, so there is nothing to pin" },
        { "nothing", ["pin"], ExitCodes.InvalidSpec, "no spec was named and nothing is pinned under" },
        { "no-pins", ["verify", "default:tiny-gpt2"], ExitCodes.BadInput, "experiment 'tiny-gpt2' has no pins under" },
        { "malformed", ["verify"], ExitCodes.BadInput, "Phase1.json: error: the pin file is malformed: it is not a pin file's JSON" },
        { "incomplete", ["verify"], ExitCodes.BadInput, "Phase1.json: error: the pin file is malformed: 'summary' must be" },
        { "missing-spec", ["verify"], ExitCodes.BadInput, "error: the spec 'experiments/gone.yaml' this pin was made from does not exist" },
    };

    [Fact]
    public void A_mistyped_or_file_pins_folder_is_refused_rather_than_auditing_nothing()
    {
        var file = _dir.Write("pins-file", "not a folder");
        var missing = Path.Combine(_dir.Path, "no-such-pins");

        foreach (var args in new[] { new[] { "verify", "--pins", missing }, ["verify", "--pins", file], ["pin", "default:tiny-gpt2", "--pins", file] })
        {
            var (code, output, error) = Invoke(args);
            Assert.True(code == ExitCodes.BadInput, $"{string.Join(' ', args)}: exit {code}: {error}");
            Assert.Contains("--pins: error: the pins folder", error, StringComparison.Ordinal);
            Assert.DoesNotContain("nothing is pinned", output + error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Missing_specs_unfinished_phases_and_malformed_pins_are_one_clear_error(string kind, string[] args, int exit, string message)
    {
        var pin = new JsonObject
        {
            ["format"] = 1, ["experiment"] = "gone", ["phase"] = "Phase1", ["spec"] = "experiments/gone.yaml", ["harness"] = "0.1.0",
            ["canonical_file"] = "phase1_summary.canonical.json", ["model"] = new JsonObject { ["source"] = "generated", ["sha256"] = "ab" },
            ["dataset"] = new JsonObject { ["source"] = "synthetic", ["sample_sha256"] = "cd" }, ["stages"] = new JsonObject(),
            ["summary"] = new JsonObject { ["experiment"] = "gone" },
        };
        if (kind == "no-pins") Directory.CreateDirectory(Pins); // a pins folder that holds nothing for this experiment
        if (kind == "malformed") _dir.Write("pins/gone/Phase1.json", "{\"format\": 1, \"experiment\": ");
        if (kind == "incomplete") _dir.Write("pins/gone/Phase1.json", new JsonObject(pin.Select(kv =>
            KeyValuePair.Create(kv.Key, kv.Key == "summary" ? new JsonArray() : kv.Value?.DeepClone()))).ToJsonString());
        if (kind == "missing-spec") _dir.Write("pins/gone/Phase1.json", pin.ToJsonString());

        var (code, output, error) = Invoke([.. args, "--pins", Pins]);

        Assert.True(code == exit, $"exit {code}: {error}");
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.Contains("Fix: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output + error, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", error, StringComparison.Ordinal);
        Assert.False(kind is "unfinished" or "phase4" && Directory.Exists(Pins), "a refused pin wrote something");
    }
}
