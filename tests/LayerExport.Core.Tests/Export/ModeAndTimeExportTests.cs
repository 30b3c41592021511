using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>Modes are permission bits plus setuid, setgid and sticky, without type bits; mtimes are whole seconds.</summary>
public sealed class ModeAndTimeExportTests(SampleArchive sample) : IClassFixture<SampleArchive>
{
    [Theory]
    [InlineData("bin/tool", "4755")]
    [InlineData("bin/group-tool", "2755")]
    [InlineData("tmp", "1777")]
    [InlineData("shared", "2775")]
    [InlineData("data/hello.txt", "640")]
    [InlineData("data/empty-dir", "700")]
    [InlineData("dev/null", "644")]
    public void ModeFieldHoldsExactlyThePermissionBits(string name, string octalMode) =>
        Assert.Equal(octalMode, Convert.ToString(sample.Member(name).Mode, 8));

    [Fact]
    public void NoModeHasFileTypeBits() =>
        Assert.All(sample.PythonMembers, m => Assert.Equal(0, m.Mode & ~0xFFF));

    [Fact]
    public async Task GnuTarShowsTheSpecialBits()
    {
        var listing = await GnuTar.ListVerboseAsync(sample.Path);

        ListingAssert.HasLine(listing, "-rwsr-xr-x ", "", " bin/tool");
        ListingAssert.HasLine(listing, "-rwxr-sr-x ", "", " bin/group-tool");
        ListingAssert.HasLine(listing, "drwxrwxrwt ", "", " tmp/");
    }

    [Fact]
    public void MtimeIsTruncatedToWholeSeconds()
    {
        // 1600000000.999999999 on disk: rounding would give ...001, and a fraction would need a PAX record.
        var member = sample.Member("data/hello.txt");

        Assert.Equal(1_600_000_000.0, member.Mtime);
        Assert.Empty(member.Pax);
        Assert.Equal(1_600_000_000, Assert.Single(sample.DotNetMembers, m => m.Name == "data/hello.txt").ModificationTime);
    }

    [Fact]
    public void EveryOtherEntryHasTheWholeSecondOfItsHalfSecondMtime()
    {
        var others = sample.PythonMembers
            .Where(m => m.Name != "data/hello.txt" && !Path.GetFileName(m.Name).StartsWith(".wh.", StringComparison.Ordinal));

        Assert.All(others, m => Assert.Equal(SampleLayer.Mtime, m.Mtime));
    }

    [Fact]
    public void EmptyFileAndEmptyDirectoryAreExported()
    {
        Assert.Equal(('0', 0L), (sample.Member("data/empty").Type, sample.Member("data/empty").Size));
        Assert.Equal('5', sample.Member("data/empty-dir").Type);
        Assert.DoesNotContain(sample.PythonMembers, m => m.Name.StartsWith("data/empty-dir/", StringComparison.Ordinal));
    }
}
