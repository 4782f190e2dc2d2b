using System.Text.Json;
using System.Text.Json.Nodes;
using CodiLab.Pipeline.Artifacts;
using CodiLab.Pipeline.Engine;
using CodiLab.Pipeline.Features;
using CodiLab.Reports;
using Xunit;

namespace CodiLab.Tests.Pipeline;

/// <summary>
/// The experiments index and the report site on a real pinned experiment (the tiny LLaMA default on 8 problems, Phase 1-2):
/// the row's facts against the pins and artifacts, the flat params/metrics files, and the site's closure.
/// </summary>
public sealed class ExperimentIndexTests(PinnedExperiment fixture) : IClassFixture<PinnedExperiment>
{
    private readonly PinnedExperiment _x = fixture;

    private string Root => _x.Env.ExperimentRoot("pin-test");

    [Fact]
    public void The_row_states_model_dataset_phases_and_pins_as_the_pins_and_lock_file_record_them()
    {
        var row = ExperimentIndex.Refresh(_x.Env, "pin-test", _x.Pins);
        var pin = Auditing.ReadPins(_x.Pins, "pin-test")[0].Pin;

        Assert.Equal("generated", row.Model);
        Assert.Equal(pin.Model.Sha256, row.ModelSha256);
        Assert.Equal("synthetic train", row.Dataset);
        Assert.Equal("8", row.Sample);
        Assert.Equal(["Phase1", "Phase2"], row.Phases);
        Assert.Equal(["Phase1", "Phase2"], row.Pinned);
        Assert.Equal("current", row.Pins);
        Assert.Equal("never", row.Verified);
    }

    [Fact]
    public void A_headline_column_sorts_even_when_no_experiment_has_its_metric_yet()
    {
        var row = ExperimentIndex.Refresh(_x.Env, "pin-test", _x.Pins);
        var bare = row with { Metrics = new Dictionary<string, double>() };

        Assert.Equal([bare], ExperimentIndex.Sort([bare], "hub ratio"));
        Assert.Throws<CodiLabException>(() => ExperimentIndex.Sort([bare], "nonsense"));
    }

    [Fact]
    public void A_pinned_phase_this_run_never_reached_is_not_run_and_a_changed_key_differs()
    {
        // Given a copy of the pins with a Phase 3 pin naming a stage this run never ran, and a Phase 2 pin with a changed key,
        var pins = Path.Combine(Path.GetTempPath(), "codilab-pins-" + Guid.NewGuid().ToString("N")[..8]);
        var folder = Directory.CreateDirectory(Path.Combine(pins, "pin-test")).FullName;
        try
        {
            var phase2 = JsonNode.Parse(File.ReadAllText(Path.Combine(_x.Pins, "pin-test", "Phase2.json")))!;
            File.Copy(Path.Combine(_x.Pins, "pin-test", "Phase1.json"), Path.Combine(folder, "Phase1.json"));
            var phase3 = phase2.DeepClone();
            (phase3["phase"], phase3["stages"]!["interventions"]) = ("Phase3", new string('a', 64));
            File.WriteAllText(Path.Combine(folder, "Phase3.json"), phase3.ToJsonString());
            phase2["stages"]!["heads"] = new string('b', 64);
            File.WriteAllText(Path.Combine(folder, "Phase2.json"), phase2.ToJsonString());

            // when the row is built, then each phase is named with its own state.
            var row = ExperimentIndex.Refresh(_x.Env, "pin-test", pins);
            Assert.Equal("Phase1 current; Phase2 differs; Phase3 not run", row.Pins);
        }
        finally
        {
            Directory.Delete(pins, recursive: true);
            ExperimentIndex.Refresh(_x.Env, "pin-test", _x.Pins);
        }
    }

    [Fact]
    public void Metrics_json_is_flat_and_its_intervals_are_those_of_the_evidence_and_canonical_summaries()
    {
        ExperimentIndex.Refresh(_x.Env, "pin-test", _x.Pins);
        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(Root, ExperimentIndex.MetricsFile)))!.AsObject();
        Assert.All(metrics, m => Assert.Equal(JsonValueKind.Number, m.Value!.GetValueKind()));

        var evidence = Phase1Files.ReadEvidence(Path.Combine(Root, "Phase1", Phase1Files.Evidence));
        var seq = evidence.Seed.AvgSequential.Measured;
        Assert.Equal(seq.Value, metrics["phase1.evidence.seed.avg_sequential"]!.GetValue<double>());
        Assert.Equal(seq.Low, metrics["phase1.evidence.seed.avg_sequential_ci_low"]!.GetValue<double>());
        Assert.Equal(seq.High, metrics["phase1.evidence.seed.avg_sequential_ci_high"]!.GetValue<double>());
        Assert.True(seq.Low <= seq.Value && seq.Value <= seq.High);
        Assert.Equal(evidence.Seed.HubRatioToOneSixth.Value, metrics["phase1.evidence.seed.hub_ratio_to_one_sixth"]!.GetValue<double>());

        var phase2 = JsonNode.Parse(File.ReadAllText(Path.Combine(Root, "Phase2", Phase2Files.CanonicalSummary)))!;
        Assert.Equal(phase2["phase2"]!["seed"]!["scores"]!["composite"]!["max"]!.GetValue<double>(),
            metrics["phase2.seed.scores.composite.max"]!.GetValue<double>());
        var phase1 = JsonNode.Parse(File.ReadAllText(Path.Combine(Root, "Phase1", Phase1Files.CanonicalSummary)))!;
        Assert.Equal(phase1["seed"]!["attention_summary"]!["hub_analysis"]!["hub_score"]!.GetValue<double>(),
            metrics["phase1.seed.attention_summary.hub_analysis.hub_score"]!.GetValue<double>());
    }

    [Fact]
    public void Params_json_is_flat_typed_and_holds_what_the_stages_ran_with()
    {
        ExperimentIndex.Refresh(_x.Env, "pin-test", _x.Pins);
        var parameters = JsonNode.Parse(File.ReadAllText(Path.Combine(Root, ExperimentIndex.ParamsFile)))!.AsObject();

        Assert.All(parameters, p => Assert.True(p.Value is null or JsonValue, $"{p.Key} is not a scalar"));
        Assert.Equal("pin-test", parameters["experiment"]!.GetValue<string>());
        Assert.Equal(8, parameters["dataset.sample"]!.GetValue<long>());
        Assert.Equal("llama", parameters["model.arch"]!.GetValue<string>());
        Assert.Equal(0.01, parameters["audit.tolerance"]!.GetValue<double>());
        Assert.Null(parameters["model.path"]);
    }

    [Fact]
    public void The_flat_files_are_no_cache_entries_so_the_view_rehash_and_the_lock_file_ignore_them()
    {
        ExperimentIndex.Refresh(_x.Env, "pin-test", _x.Pins);
        var lockFile = LockFile.Read(Root, "pin-test", "");

        Assert.DoesNotContain(lockFile.Stages.Values.SelectMany(s => s.Outputs.Keys),
            f => f.Contains(ExperimentIndex.MetricsFile, StringComparison.Ordinal) || f.Contains(ExperimentIndex.ParamsFile, StringComparison.Ordinal));
        Assert.Empty(ViewCheck.VerifyAll(_x.Env, new ArtifactCache(_x.Env.CacheRoot)));
        Assert.True(File.Exists(Path.Combine(Root, ExperimentIndex.MetricsFile)));
    }

    [Fact]
    public void Sorting_by_a_headline_orders_by_its_metric_and_an_unknown_field_is_an_argument_error()
    {
        var row = ExperimentIndex.Refresh(_x.Env, "pin-test", _x.Pins);
        var key = SiteReport.Headlines[1].Key;
        var lower = row with { Experiment = "lower", Metrics = new Dictionary<string, double> { [key] = row.Metrics[key] - 1 } };
        var none = row with { Experiment = "none", Metrics = new Dictionary<string, double>() };
        ExperimentRow[] rows = [none, row, lower];

        Assert.Equal(["lower", "pin-test", "none"], ExperimentIndex.Sort(rows, SiteReport.Headlines[1].Label).Select(r => r.Experiment));
        Assert.Equal(["pin-test", "lower", "none"], ExperimentIndex.Sort(rows, key + ":desc").Select(r => r.Experiment));
        Assert.Equal(["lower", "none", "pin-test"], ExperimentIndex.Sort(rows, "experiment").Select(r => r.Experiment));
        var e = Assert.Throws<CodiLabException>(() => ExperimentIndex.Sort(rows, "no-such-metric"));
        Assert.Equal(ExitCodes.InvalidSpec, e.ExitCode);
        Assert.Contains("phase1.evidence.seed.avg_sequential", e.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void The_site_lists_the_experiment_with_its_reports_and_every_link_resolves_inside_it()
    {
        var site = Site.Build(_x.Env, _x.Pins);

        Assert.Empty(site.Unresolved);
        var index = File.ReadAllText(site.Index);
        Assert.Contains("<table id=\"experiments\">", index, StringComparison.Ordinal);
        Assert.Contains("<td><a href=\"#pin-test\">pin-test</a></td>", index, StringComparison.Ordinal);
        Assert.Contains("href=\"experiments/pin-test/Phase1/report.html\"", index, StringComparison.Ordinal);
        Assert.Contains("href=\"experiments/pin-test/Phase2/phase2_report.html\"", index, StringComparison.Ordinal);
        var phase2 = File.ReadAllText(Path.Combine(site.Folder, "experiments/pin-test/Phase2/phase2_report.html"));
        Assert.Contains("src=\"data:image/png;base64,", phase2, StringComparison.Ordinal);
        Assert.Contains("href=\"../../../index.html\"", phase2, StringComparison.Ordinal);
        Assert.Equal(2, site.Pages);
        var rows = JsonNode.Parse(File.ReadAllText(Path.Combine(site.Folder, Site.RowsFile)))!.AsArray();
        Assert.Equal("pin-test", Assert.Single(rows)!["experiment"]!.GetValue<string>());
    }
}
