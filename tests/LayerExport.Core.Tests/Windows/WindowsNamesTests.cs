using System.Text;
using LayerExport.Core.Reader.Windows;

namespace LayerExport.Core.Tests.Windows;

/// <summary>Names such as <c>Files</c> and <c>$Recycle.Bin</c> are matched as Go's <c>strings.EqualFold</c> matches them.</summary>
public sealed class WindowsNamesTests
{
    [Theory]
    [InlineData("Files", "Files")]
    [InlineData("FILES", "Files")]
    [InlineData("fIlEs", "Files")]
    [InlineData("File\u017F", "Files")]
    [InlineData("\u212Aey", "key")]
    [InlineData("$recycle.bin", "$Recycle.Bin")]
    public void NamesEqualIgnoringCaseAndTheTwoLettersThatFoldOntoAscii(string name, string expected)
    {
        Assert.True(WindowsNames.FoldEquals(Encoding.UTF8.GetBytes(name), Encoding.ASCII.GetBytes(expected)));
    }

    [Theory]
    [InlineData("Filez", "Files")]
    [InlineData("$Recycle.Bim", "$Recycle.Bin")]
    [InlineData("File", "Files")]
    [InlineData("Files ", "Files")]
    [InlineData("Fil\u00E9s", "Files")]
    [InlineData("\u0130", "i")]
    public void OtherNamesOfTheSameOrAnotherLengthDiffer(string name, string expected)
    {
        // A name as long as $Recycle.Bin but spelled otherwise is a directory like any other, never dropped.
        Assert.False(WindowsNames.FoldEquals(Encoding.UTF8.GetBytes(name), Encoding.ASCII.GetBytes(expected)));
    }
}
