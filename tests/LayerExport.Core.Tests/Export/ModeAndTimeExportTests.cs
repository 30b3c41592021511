using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>Modes are permission bits plus setuid, setgid and sticky, without type bits; mtimes are whole seconds.</summary>
public sealed class ModeAndTimeExportTests(SampleArchive sample) : IClassFixture<SampleArchive>
{
    [Theory]
    [InlineData("bin/tool", 0x9ED)]
    [InlineData("bin/group-tool", 0x5ED)]
    [InlineData("tmp", 0x3FF)]
    [InlineData("shared", 0x5FD)]
    [InlineData("data/hello.txt", 0x1A0)]
    [InlineData("data/empty-dir", 0x1C0)]
    [InlineData("dev/null", 0x1A4)]
    public void ModeFieldHoldsExactlyThePermissionBits(string name, long mode) =>
        Assert.Equal(Convert.ToString(mode, 8), Convert.ToString(sample.Member(name).Mode, 8));

    [Fact]
    public void NoModeHasFileTypeBits() =>
        Assert.All(sample.PythonMembers, m => Assert.Equal(0, m.Mode & ~0xFFF));

    [Fact]
    public async Task GnuTarShowsTheSpecialBits()
    {
        var listing = await GnuTar.ListVerboseAsync(sample.Path);

        Assert.Single(listing, line => line.StartsWith("-rwsr-xr-x ", StringComparison.Ordinal) && line.EndsWith(" bin/tool", StringComparison.Ordinal));
        Assert.Single(listing, line => line.StartsWith("-rwxr-sr-x ", StringComparison.Ordinal) && line.EndsWith(" bin/group-tool", StringComparison.Ordinal));
        Assert.Single(listing, line => line.StartsWith("drwxrwxrwt ", StringComparison.Ordinal) && line.EndsWith(" tmp/", StringComparison.Ordinal));
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
    public void EveryOtherEntryHasTheWholeSecondOfItsHalfSecondMtime() =>
        Assert.All(
            sample.PythonMembers.Where(m => m.Name != "data/hello.txt" && !Path.GetFileName(m.Name).StartsWith(".wh.", StringComparison.Ordinal)),
            m => Assert.Equal(SampleLayer.Mtime, m.Mtime));

    [Fact]
    public void EmptyFileAndEmptyDirectoryAreExported()
    {
        Assert.Equal(('0', 0L), (sample.Member("data/empty").Type, sample.Member("data/empty").Size));
        Assert.Equal('5', sample.Member("data/empty-dir").Type);
        Assert.DoesNotContain(sample.PythonMembers, m => m.Name.StartsWith("data/empty-dir/", StringComparison.Ordinal));
    }
}
