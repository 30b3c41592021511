using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>Long and non-ASCII names come through whole in every reader.</summary>
public sealed class NameExportTests(SampleArchive sample) : IClassFixture<SampleArchive>
{
    private static readonly string[] ExpectedNames =
    [
        "names/" + SampleLayer.LongFileName,
        "names/" + SampleLayer.LongPath,
        "names/" + SampleLayer.LongPath[..SampleLayer.LongPath.IndexOf('/')] + "/",
        "names/café/",
        "names/café/naïve.txt",
    ];

    public static TheoryData<string> Names => new(ExpectedNames);

    [Theory]
    [MemberData(nameof(Names))]
    public void PythonReadsTheWholeName(string name) =>
        Assert.Single(sample.PythonMembers, m => m.ArchiveName == name);

    [Theory]
    [MemberData(nameof(Names))]
    public void TarReaderReadsTheWholeName(string name) =>
        Assert.Single(sample.DotNetMembers, m => m.Name == name);

    [Fact]
    public async Task GnuTarListsTheWholeNames()
    {
        var names = await GnuTar.ListNamesAsync(sample.Path);

        Assert.All(ExpectedNames, name => Assert.Contains(name, names));
    }

    [Fact]
    public void NamesOverAHundredBytesAndOverTwoHundredFiftyFiveArePresent()
    {
        Assert.InRange(("names/" + SampleLayer.LongFileName).Length, 101, 255);
        Assert.True(("names/" + SampleLayer.LongPath).Length > 255);
        Assert.Contains(sample.PythonMembers, m => m.Name.Length > 255);
    }
}
