using LayerExport.Core.Store;

namespace LayerExport.Core.Tests.Store;

/// <summary>How much of a metadata file's text an error message quotes.</summary>
public sealed class MetadataTextTests
{
    [Fact]
    public void TextAsLongAsAValidValueCanBeIsQuotedWhole() =>
        Assert.Equal(new string('a', 160), MetadataText.Quote(new string('a', 160)));

    [Fact]
    public void LongerTextIsCutAndSaysHowMuchWasLeftOut() =>
        Assert.Equal(new string('a', 160) + "... (1 more characters)", MetadataText.Quote(new string('a', 161)));

    [Fact]
    public void TheCutNeverSplitsASurrogatePair()
    {
        var quoted = MetadataText.Quote(new string('a', 159) + "\U0001F600" + "tail");

        Assert.Equal(new string('a', 159) + "... (6 more characters)", quoted);
    }
}
