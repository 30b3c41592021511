namespace LayerExport.Core.Tests;

/// <summary>Quoted text cannot start a line of its own in a message or a log.</summary>
public sealed class MessageTextTests
{
    [Theory]
    [InlineData("a\nb", "a\\nb")]
    [InlineData("a\r\nb\tc", "a\\r\\nb\\tc")]
    [InlineData("nul\0del\u007f", "nul\\u0000del\\u007f")]
    [InlineData("next\u0085line", "next\\u0085line")]
    [InlineData("line\u2028para\u2029", "line\\u2028para\\u2029")]
    public void ControlCharactersAreEscaped(string text, string escaped) => Assert.Equal(escaped, MessageText.Escape(text));

    [Theory]
    [InlineData("usr/lib/libc.so.6")]
    [InlineData("caf\u00e9 \u65e5\u672c \U0001F600 \\n as typed")]
    public void OtherTextIsTheSameString(string text) => Assert.Same(text, MessageText.Escape(text));

    [Fact]
    public void AnExportFailureQuotesItsEntryEscaped()
    {
        var failure = new LayerExportException("etc/x\n[00:00:00 INF] forged", "it shrank\r");

        Assert.Equal("etc/x\\n[00:00:00 INF] forged: it shrank\\r", failure.Message);
        Assert.Equal("etc/x\n[00:00:00 INF] forged", failure.Path);
    }
}
