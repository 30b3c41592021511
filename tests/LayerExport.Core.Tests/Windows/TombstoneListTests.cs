using System.Text;
using LayerExport.Core.Reader.Windows;

namespace LayerExport.Core.Tests.Windows;

/// <summary>tombstones.txt is read as hcsshim reads it, without panicking on blank lines.</summary>
public sealed class TombstoneListTests
{
    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    public void LinesEndInLfOrCrlfAndBlankOnesAreSkipped(string newline)
    {
        var list = Parse($"\\a.txt{newline}{newline}\\dir\\b{newline}\\dir\\c");

        Assert.Equal(3, list.Count);
        Assert.Equal(["a.txt"], Names(list, "Files"));
        Assert.Equal(["b", "c"], Names(list, "Files/dir"));
    }

    [Fact]
    public void PathsAreCleanedAsWindowsPathsAfterTheirFirstByte()
    {
        var list = Parse("/x\\..\\y\n\\a/b\\\\c\\.\\d\n\\..\\..\\up\nXz\n\\");

        Assert.Equal(["y", "z"], Names(list, "Files"));
        Assert.Equal(["d"], Names(list, "Files/a/b/c"));
        // Files\..\..\up cleans to ..\up: its directory is none the walk reaches, so no whiteout is ever written.
        Assert.Equal(["up"], Names(list, ".."));
        Assert.Equal(5, list.Count);
    }

    [Fact]
    public void ALineThatCleansToFilesOrAboveItNamesNoDirectoryButCounts()
    {
        // hcsshim drops such a deletion: its parent is the transport directory or above, which the walk never yields.
        var list = Parse("\\\n\\..\n\\a\\..\n");

        Assert.Equal(3, list.Count);
        Assert.Empty(Names(list, ""));
        Assert.Empty(Names(list, "Files"));
        Assert.Empty(Names(list, ".."));
    }

    [Fact]
    public void AHeaderWithoutFurtherLinesListsNothing()
    {
        Assert.Equal(0, Parse("").Count);
        Assert.Equal(0, TombstoneList.Parse([0xEF, 0xBB, 0xBF, .. "Version 1.0"u8]).Count);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Version 1.0\n\\a")]
    [InlineData("\uFEFFVersion 1.0 \n")]
    [InlineData("\n\uFEFFVersion 1.0\n")]
    public void TheFirstLineMustBeTheByteOrderMarkAndVersion(string content)
    {
        Assert.Throws<FormatException>(() => TombstoneList.Parse(Encoding.UTF8.GetBytes(content)));
    }

    private static TombstoneList Parse(string lines) => TombstoneList.Parse([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("Version 1.0\n" + lines)]);

    private static IEnumerable<string> Names(TombstoneList list, string directory) =>
        list.For(Encoding.UTF8.GetBytes(directory)).Select(static n => Encoding.UTF8.GetString(n));
}
