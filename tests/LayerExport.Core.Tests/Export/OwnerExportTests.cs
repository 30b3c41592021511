using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>Owners are numeric, even beyond what the ustar octal field holds, and carry no names.</summary>
public sealed class OwnerExportTests(SampleArchive sample) : IClassFixture<SampleArchive>
{
    [Fact]
    public void IdsBeyondTheOctalFieldSurvive()
    {
        var member = sample.Member("owners/big-ids");

        Assert.Equal((3_000_000L, 3_000_001L), (member.Uid, member.Gid));
    }

    [Fact]
    public async Task GnuTarShowsTheBigIds()
    {
        var listing = await GnuTar.ListVerboseAsync(sample.Path);

        ListingAssert.HasLine(listing, "-", " 3000000/3000001 ", " owners/big-ids");
    }

    [Fact]
    public void OrdinaryIdsAreKept()
    {
        var member = sample.Member("data/hello.txt");

        Assert.Equal((1000L, 1000L), (member.Uid, member.Gid));
    }

    [Fact]
    public void NoMemberCarriesUserOrGroupNames() =>
        Assert.All(sample.PythonMembers, m => Assert.Equal(("", ""), (m.Uname, m.Gname)));
}
