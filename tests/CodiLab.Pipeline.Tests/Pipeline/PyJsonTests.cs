using CodiLab.Pipeline.Data;
using Xunit;

namespace CodiLab.Tests.Pipeline;

/// <summary>PyJson against what CPython 3.11's json.dumps(..., indent=2) prints.</summary>
public sealed class PyJsonTests
{
    [Fact]
    public void Strings_are_escaped_like_ensure_ascii()
    {
        var text = PyJson.Dump(new[] { "a\"b\\c\n\r\t\b\f\u0001/é€𝄞\u007f<>&'+" });

        Assert.Equal("[\n  \"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001/\\u00e9\\u20ac\\ud834\\udd1e\\u007f<>&'+\"\n]", text);
    }

    [Fact]
    public void Nesting_and_empty_containers_are_laid_out_like_indent_2()
    {
        var value = new object[]
        {
            new KeyValuePair<string, object?>[] { new("k", new object?[] { 1, new KeyValuePair<string, object?>[] { new("z", null), new("t", true) } }) },
        };

        Assert.Equal("[\n  {\n    \"k\": [\n      1,\n      {\n        \"z\": null,\n        \"t\": true\n      }\n    ]\n  }\n]", PyJson.Dump(value));
        Assert.Equal("[]", PyJson.Dump(Array.Empty<object>()));
        Assert.Equal("{}", PyJson.Dump(Array.Empty<KeyValuePair<string, object?>>()));
    }
}
