using System.Text.Json;
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

    // The parser counts from 0; a message counts from 1, and on the first line the byte alone places the error.
    [Fact]
    public void AnErrorOnTheFirstLineIsPlacedByItsByteCountedFromOne() =>
        Assert.Equal("byte 7: 'x' is an invalid start of a value.", MetadataText.DescribeJsonError(ParseError("{\"a\": x}")));

    // A JsonException a converter throws need not carry the parser's coordinates; its message is kept as it is.
    [Fact]
    public void AMessageWithoutTheParsersInternalsIsKeptWhole() =>
        Assert.Equal("not a layer ID", MetadataText.DescribeJsonError(new JsonException("not a layer ID")));

    // Even with nothing before them, the parser's coordinates never reach the message.
    [Fact]
    public void AMessageOfTheParsersInternalsAloneLeavesOnlyWhere() =>
        Assert.Equal(
            "byte 1",
            MetadataText.DescribeJsonError(new JsonException(" Path: $ | LineNumber: 0 | BytePositionInLine: 0.", "$", 0, 0)));

    private static JsonException ParseError(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            return e;
        }

        throw new InvalidOperationException($"{json} parsed.");
    }
}
