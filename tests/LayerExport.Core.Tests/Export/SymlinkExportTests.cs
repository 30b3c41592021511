using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>Symlinks travel with their raw targets, never resolved, however long, absolute or dangling.</summary>
public sealed class SymlinkExportTests(SampleArchive sample) : IClassFixture<SampleArchive>
{
    private static readonly (string Name, string Target)[] ExpectedLinks =
    [
        ("links/relative", "../data/hello.txt"),
        ("links/absolute", "/etc/passwd"),
        ("links/dangling", "nowhere/missing"),
        ("links/long", SampleLayer.LongTarget),
    ];

    public static TheoryData<string, string> Links
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var (name, target) in ExpectedLinks)
            {
                data.Add(name, target);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Links))]
    public void PythonReadsTheRawTarget(string name, string target)
    {
        var link = sample.Member(name);

        Assert.Equal(('2', target, 0L), (link.Type, link.LinkName, link.Size));
    }

    [Theory]
    [MemberData(nameof(Links))]
    public void TarReaderReadsTheRawTarget(string name, string target)
    {
        var link = Assert.Single(sample.DotNetMembers, m => m.Name == name);

        Assert.Equal(('2', target), (link.Type, link.LinkName));
    }

    [Fact]
    public async Task GnuTarListsEveryTarget()
    {
        var listing = await GnuTar.ListVerboseAsync(sample.Path);

        foreach (var (name, target) in ExpectedLinks)
        {
            ListingAssert.HasLine(listing, "l", "", $" {name} -> {target}");
        }
    }

    [Fact]
    public void SymlinkKeepsItsOwnOwner()
    {
        var link = sample.Member("links/long");

        Assert.Equal((1234L, 5678L), (link.Uid, link.Gid));
    }
}
