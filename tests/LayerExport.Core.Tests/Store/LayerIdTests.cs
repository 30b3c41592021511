using LayerExport.Core.Store;

namespace LayerExport.Core.Tests.Store;

/// <summary>Which texts are layer IDs: safe path components only.</summary>
public sealed class LayerIdTests
{
    public static TheoryData<string> Accepted =>
    [
        "a",
        "0",
        "base",
        "Layer-1.2_3",
        "a..b",
        "sha256-" + new string('f', 64),
        new string('x', 128),
    ];

    public static TheoryData<string?> Rejected =>
    [
        null,
        "",
        ".",
        "..",
        "a/b",
        "../x",
        "-a",
        "_a",
        ".a",
        "a\n",
        "\na",
        "a b",
        "a\\b",
        "a:b",
        "a\0",
        "é",
        "layer-ü",
        "\u0661",
        new string('x', 129),
    ];

    [Theory]
    [MemberData(nameof(Accepted))]
    public void AcceptsSafePathComponents(string text)
    {
        Assert.True(LayerId.TryParse(text, out var id));
        Assert.Equal(text, id.Value);
        Assert.Equal(text, LayerId.Parse(text).ToString());
    }

    [Theory]
    [MemberData(nameof(Rejected))]
    public void RejectsAnythingElse(string? text)
    {
        Assert.False(LayerId.TryParse(text, out var id));
        Assert.Equal(default, id);
        var error = Assert.Throws<InvalidLayerIdException>(() => LayerId.Parse(text));
        Assert.Contains(LayerId.Pattern, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IdsWithTheSameTextAreEqual()
    {
        Assert.Equal(LayerId.Parse("app"), LayerId.Parse("app"));
        Assert.NotEqual(LayerId.Parse("app"), LayerId.Parse("App"));
    }
}
