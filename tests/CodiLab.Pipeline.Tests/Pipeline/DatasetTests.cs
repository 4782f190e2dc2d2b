using System.Security.Cryptography;
using System.Text;
using CodiLab.Pipeline.Data;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Pipeline;

public sealed class DatasetTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [SharedFact]
    public void Seed_dataset_json_is_byte_identical_to_the_seed()
    {
        var problems = Gsm8k.ReadJsonl(Path.Combine(TestPaths.SharedData, "gsm8k", "train.jsonl"));

        var json = Gsm8k.DatasetJson(Gsm8k.Records(problems, Gsm8k.SampleIndices(42, problems.Count, 100), "train"));

        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.Equal(7473, problems.Count);
        Assert.Equal(64528, bytes.Length);
        Assert.Equal("95367d6b88b924de4e7dc58e3137923e569697ad021157bc3d6c382f1eb041f4", Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    [SharedFact]
    public void First_sampled_records_match_SEED_md()
    {
        var problems = Gsm8k.ReadJsonl(Path.Combine(TestPaths.SharedData, "gsm8k", "train.jsonl"));

        var records = Gsm8k.Records(problems, Gsm8k.SampleIndices(42, problems.Count, 100), "train");

        Assert.Equal(("train_53", "36"), (records[0].Gsm8kId, records[0].Answer));
        Assert.StartsWith("Caleb bought 10 cartons", records[0].Question, StringComparison.Ordinal);
        Assert.Equal(("train_653", "16"), (records[9].Gsm8kId, records[9].Answer));
    }

    [Fact]
    public void Final_answer_is_the_text_after_the_last_marker()
    {
        Assert.Equal("72", Gsm8k.FinalAnswer("Step <<48/2=24>>24\n#### 72"));
        Assert.Equal("5", Gsm8k.FinalAnswer("a #### 3\nb ####  5 "));
    }

    [Fact]
    public void Broken_jsonl_line_is_named_with_file_and_line()
    {
        var path = _dir.Write("bad.jsonl", "{\"question\": \"q\", \"answer\": \"#### 1\"}\n{\"question\": \"q2\"\n");

        var error = Assert.Throws<CodiLabException>(() => Gsm8k.ReadJsonl(path));

        Assert.Equal($"{path}:2", error.Where);
        Assert.Equal(ExitCodes.BadInput, error.ExitCode);
    }

    [Fact]
    public void Synthetic_set_is_deterministic_per_seed_and_gsm8k_shaped()
    {
        var a = SyntheticGsm8k.Generate(42, 50);
        var b = SyntheticGsm8k.Generate(42, 50);
        var c = SyntheticGsm8k.Generate(43, 50);

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.All(a, p => Assert.Matches(@"\n#### -?\d+$", p.Answer));
        Assert.All(a, p => Assert.EndsWith("?", p.Question, StringComparison.Ordinal));
    }

    [Fact]
    public void Sample_all_keeps_every_problem_in_file_order()
    {
        Assert.Equal([0L, 1, 2, 3], Gsm8k.SampleIndices(42, 4, null));
    }
}
