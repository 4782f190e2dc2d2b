using CodiLab.Specs;
using CodiLab.Tests.Support;
using Xunit;

namespace CodiLab.Tests.Specs;

/// <summary>Every malformed spec is reported with file:line:column, a reason and a fix (docs/spec-reference.md#errors).</summary>
public sealed class BadSpecTests : IDisposable
{
    private const string Valid = "model:\n  arch: llama\n  source: generated\ndataset:\n  source: synthetic\n  size: 50\n  sample: 10\n";
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string, string, int, int, string> Cases => new()
    {
        // name, yaml, line, column, fragment of the message
        { "unclosed flow mapping", "model: { arch: llama\ndataset:\n", 1, 14, "never closed" },
        { "tab indentation", "model:\n\tarch: llama\n", 2, 1, "malformed" },
        { "unknown top-level key", Valid + "sede: 42\n", 8, 1, "unknown field 'sede'" },
        { "unknown nested key", Valid + "analysis:\n  hub_ratio: 2\n", 9, 3, "unknown field 'analysis.hub_ratio'" },
        { "unknown LoRA key", "model:\n  arch: llama\n  source: generated\n  lora:\n    rank: 8\n", 5, 5, "unknown field 'model.lora.rank'" },
        { "seed not an integer", Valid + "seed: forty-two\n", 8, 7, "expected an integer" },
        { "quoted number", "model:\n  arch: llama\n  source: generated\ndataset:\n  source: synthetic\n  sample: \"10\"\n", 6, 11, "quoted string" },
        { "threshold out of range", Valid + "analysis:\n  sequential_threshold: 1.5\n", 9, 25, "out of range" },
        { "sample zero", "model:\n  arch: llama\n  source: generated\ndataset:\n  source: synthetic\n  sample: 0\n", 6, 11, "out of range" },
        { "unknown architecture", "model:\n  arch: bert\n  source: generated\n", 2, 9, "'bert' is not one of llama, gpt2" },
        { "unknown dtype", Valid.Replace("arch: llama", "arch: llama\n  dtype: float16"), 3, 10, "'float16' is not one of float32, bfloat16" },
        { "group given a scalar", "model: llama\n", 1, 8, "'model' must be a mapping" },
        { "phases not a list", Valid + "phases: Phase1\n", 8, 9, "must be a list" },
        { "unknown phase", Valid + "phases: [Phase1, Phase9]\n", 8, 18, "'Phase9' is not one of" },
        { "phase listed twice", Valid + "phases: [Phase1, Phase1]\n", 8, 18, "listed twice" },
        { "missing architecture", "model:\n  source: generated\n", 1, 1, "which architecture" },
        { "checkpoint without path", "model:\n  arch: gpt2\n", 1, 1, "'model.path' is required" },
        { "duplicate key", "model:\n  arch: llama\n  arch: gpt2\n", 3, 3, "appears twice" },
        { "empty spec", "", 1, 1, "empty" },
        { "bad digest", "model:\n  arch: llama\n  source: generated\ndataset:\n  sha256: abc\n", 5, 11, "not a SHA-256" },
        { "sample above synthetic size", "model:\n  arch: llama\n  source: generated\ndataset:\n  source: synthetic\n  size: 10\n  sample: 11\n", 7, 11, "cannot sample 11" },
        { "path on synthetic data", "model:\n  arch: llama\n  source: generated\ndataset:\n  source: synthetic\n  path: x.jsonl\n", 6, 9, "no meaning for a synthetic" },
        { "invalid name", Valid + "name: My Experiment\n", 8, 7, "not a valid name" },
        { "negative answer length", Valid + "extraction:\n  max_new_tokens: -1\n", 9, 19, "out of range" },
        { "fractional failure count", Valid + "extraction:\n  max_failures: 2.5\n", 9, 17, "neither a count of problems nor a fraction below 1" },
        { "two documents", Valid + "---\nseed: 1\n", 9, 1, "more than one YAML document" },
        { "value is a mapping", Valid + "seed:\n  value: 1\n", 9, 3, "must be a single value" },
        { "extends missing file", "extends: nowhere.yaml\n" + Valid, 1, 10, "does not exist" },
        { "root is a list", "- model\n", 1, 1, "must be a mapping" },
        { "name of the shared cache", Valid + "name: cache\n", 8, 7, "the experiment name 'cache' is reserved" },
        { "name of the comparisons folder", Valid + "name: compare\n", 8, 7, "the experiment name 'compare' is reserved" },
        { "name of the default data root", Valid + "name: data\n", 8, 7, "the experiment name 'data' is reserved" },
        { "reserved name in flow style", "{name: cache, model: {arch: llama, source: generated}}\n", 1, 8, "'cache' is reserved" },
        { "anchor and alias", "base: &b\n  arch: llama\nmodel: *b\n", 1, 7, "aliases and anchors" },
        { "alias to nothing", "model:\n  arch: *x\n", 2, 9, "aliases and anchors" },
        { "billion laughs", BillionLaughs(), 1, 4, "aliases and anchors" },
        { "nesting past the limit", "seed: " + new string('[', 100) + new string(']', 100) + "\n", 1, 36, "nests deeper than 32" },
        { "deep nesting of mappings", NestedMappings(40), 31, 61, "nests deeper" },
    };

    private static string NestedMappings(int depth) =>
        string.Concat(Enumerable.Range(0, depth).Select(i => new string(' ', 2 * i) + "k:\n"));

    // An alias bomb ("billion laughs") of about 2.4 KB: ten levels of 80 aliases to the level before, which a tree
    // builder that expands aliases would turn into 80^9 scalars.
    private static string BillionLaughs()
    {
        var lines = new List<string> { "a: &a [" + string.Join(",", Enumerable.Repeat("lol", 80)) + "]" };
        for (var level = 1; level < 10; level++)
        {
            var (name, previous) = ((char)('a' + level), (char)('a' + level - 1));
            lines.Add($"{name}: &{name} [" + string.Join(",", Enumerable.Repeat($"*{previous}", 80)) + "]");
        }
        return string.Join("\n", lines) + "\n";
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bad_spec_is_reported_with_its_position_and_a_fix(string name, string yaml, int line, int column, string fragment)
    {
        var path = _dir.Write("bad.yaml", yaml);

        var error = Assert.Throws<SpecException>(() => SpecLoader.Load(path));

        var d = error.Diagnostics[0];
        Assert.True(d.Message.Contains(fragment, StringComparison.Ordinal), $"{name}: message was: {d.Message}");
        Assert.Equal((path, line, column), (d.Mark.File, d.Mark.Line, d.Mark.Column));
        Assert.False(string.IsNullOrWhiteSpace(d.Fix));
        Assert.Equal(ExitCodes.InvalidSpec, error.ExitCode);
    }

    [Theory]
    [InlineData("cache")]
    [InlineData("compare")]
    [InlineData("data")]
    public void Spec_named_by_a_reserved_file_name_is_refused_at_the_file(string reserved)
    {
        var path = _dir.Write($"{reserved}.yaml", Valid);

        var error = Assert.Throws<SpecException>(() => SpecLoader.Load(path));

        var d = Assert.Single(error.Diagnostics);
        Assert.Equal((path, 1, 1), (d.Mark.File, d.Mark.Line, d.Mark.Column));
        Assert.Contains($"its file name '{reserved}' is reserved", d.Message, StringComparison.Ordinal);
        Assert.Contains("rename the file", d.Fix, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.InvalidSpec, error.ExitCode);
    }

    [Fact]
    public void Every_reserved_name_is_refused_with_its_reason_and_a_free_alternative()
    {
        foreach (var (reserved, why) in SpecSchema.ReservedNames)
        {
            var path = _dir.Write("reserved.yaml", Valid + $"name: {reserved}\n");

            var d = Assert.Throws<SpecException>(() => SpecLoader.Load(path)).Diagnostics.Single();

            Assert.Contains(why, d.Message, StringComparison.Ordinal);
            Assert.Contains($"'name: {reserved}-1'", d.Fix, StringComparison.Ordinal);
            Assert.DoesNotContain($"{reserved}-1", SpecSchema.ReservedNames.Keys);
        }
    }

    [Fact]
    public void A_name_that_only_starts_like_a_reserved_one_is_accepted()
    {
        var path = _dir.Write("ok.yaml", Valid + "name: cache-1\n");

        Assert.Equal("cache-1", SpecLoader.Load(path).Name);
    }

    [Fact]
    public void Spec_file_over_the_size_limit_is_refused_before_parsing()
    {
        var path = _dir.Write("huge.yaml", Valid + new string('#', SpecYaml.MaxBytes) + "\n");

        var error = Assert.Throws<SpecException>(() => SpecLoader.Load(path));

        Assert.Contains("larger than 1 MiB", error.Diagnostics[0].Message, StringComparison.Ordinal);
        Assert.Equal((path, 1, 1), (error.Diagnostics[0].Mark.File, error.Diagnostics[0].Mark.Line, error.Diagnostics[0].Mark.Column));
        Assert.Equal(ExitCodes.InvalidSpec, error.ExitCode);
    }

    [Fact]
    public void Alias_bomb_is_refused_at_its_first_anchor_without_expanding()
    {
        var bomb = BillionLaughs();

        var error = Assert.Throws<SpecException>(() => SpecYaml.Parse(bomb, "bomb.yaml"));

        Assert.InRange(bomb.Length, 2000, 3000);
        Assert.Equal("bomb.yaml:1:4", error.Diagnostics[0].Mark.ToString());
    }

    [Fact]
    public void Unknown_key_suggests_the_nearest_field()
    {
        var path = _dir.Write("typo.yaml", Valid + "analysis:\n  top_head: 5\n");

        var error = Assert.Throws<SpecException>(() => SpecLoader.Load(path));

        Assert.Contains("did you mean 'top_heads'?", error.Diagnostics[0].Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_problem_in_a_spec_is_reported_at_once()
    {
        var path = _dir.Write("many.yaml", "seed: -1\nmodel:\n  arch: bert\n  colour: red\n");

        var error = Assert.Throws<SpecException>(() => SpecLoader.Load(path));

        Assert.Equal([1, 3, 4], error.Diagnostics.Select(d => d.Mark.Line));
    }

    [Fact]
    public void Extends_cycle_is_an_error_at_the_extends_line()
    {
        var a = _dir.Write("a.yaml", "extends: b.yaml\n" + Valid);
        _dir.Write("b.yaml", "extends: a.yaml\n" + Valid);

        var error = Assert.Throws<SpecException>(() => SpecLoader.Load(a));

        Assert.Contains("cycle", error.Diagnostics[0].Message, StringComparison.Ordinal);
        Assert.EndsWith("b.yaml", error.Diagnostics[0].Mark.File, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_in_a_base_spec_points_into_the_base_file()
    {
        var basePath = _dir.Write("base.yaml", Valid + "seed: nope\n");
        var child = _dir.Write("child.yaml", "extends: base.yaml\nname: child\n");

        var error = Assert.Throws<SpecException>(() => SpecLoader.Load(child));

        Assert.Equal(Path.GetFullPath(basePath), Path.GetFullPath(error.Diagnostics[0].Mark.File));
        Assert.Equal(8, error.Diagnostics[0].Mark.Line);
    }

    [Fact]
    public void Missing_spec_file_says_where_it_looked()
    {
        var error = Assert.Throws<SpecException>(() => SpecLoader.Load(Path.Combine(_dir.Path, "absent.yaml")));

        Assert.Contains("does not exist", error.Diagnostics[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_specs_with_one_name_are_refused()
    {
        var a = _dir.Write("a.yaml", Valid + "name: same\n");
        var b = _dir.Write("b.yaml", Valid + "name: same\n");

        var error = Assert.Throws<SpecException>(() => SpecLoader.LoadAll([a, b]));

        Assert.Contains("two specs are named 'same'", error.Diagnostics[0].Message, StringComparison.Ordinal);
    }
}
