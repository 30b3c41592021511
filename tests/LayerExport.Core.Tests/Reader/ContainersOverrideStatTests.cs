using System.Text;
using LayerExport.Core.Reader;

namespace LayerExport.Core.Tests.Reader;

/// <summary>
/// The override_stat value a rootless store writes, <c>uid:gid:mode[:type]</c>: each type containers/storage
/// writes is read, the mode keeps only its permission bits, and anything else is refused rather than guessed at.
/// </summary>
public sealed class ContainersOverrideStatTests
{
    [Theory]
    [InlineData("1000:1001:0644", 1000u, 1001u, 0b110_100_100, null)]
    [InlineData("0:0:7777", 0u, 0u, 0xFFF, null)]
    // fuse-overlayfs writes the type bits into the mode: only the permission bits are the mode.
    [InlineData("5:6:40750", 5u, 6u, 0b111_101_000, null)]
    [InlineData("4294967295:4294967295:0", uint.MaxValue, uint.MaxValue, 0, null)]
    [InlineData("1:2:0640:file", 1u, 2u, 0b110_100_000, "file")]
    [InlineData("1:2:0755:dir", 1u, 2u, 0b111_101_101, "dir")]
    [InlineData("1:2:0777:symlink", 1u, 2u, 0b111_111_111, "symlink")]
    [InlineData("1:2:0600:pipe", 1u, 2u, 0b110_000_000, "pipe")]
    [InlineData("1:2:0755:socket", 1u, 2u, 0b111_101_101, "socket")]
    public void ReadsOwnerModeAndType(string value, uint uid, uint gid, int mode, string? kind)
    {
        Assert.Equal(new ContainersOverrideStat(uid, gid, mode, kind, 0, 0), Parse(value));
    }

    [Theory]
    [InlineData("0:6:0660:block-8-1", "block", 8u, 1u)]
    [InlineData("0:0:0666:char-1-3", "char", 1u, 3u)]
    [InlineData("0:0:0666:char-0-0", "char", 0u, 0u)]
    public void ReadsTheDeviceNumbersOfADevice(string value, string kind, uint major, uint minor)
    {
        var stat = Parse(value);

        Assert.Equal((kind, major, minor), (stat.Kind, stat.Major, stat.Minor));
    }

    [Theory]
    // Seven digits hold a full st_mode with a leading zero; an eighth is refused (below).
    [InlineData("1:2:0100644", 0b110_100_100)]
    [InlineData("1:2:7", 7)]
    public void ReadsAModeOfOneToSevenOctalDigits(string value, int mode)
    {
        Assert.Equal(mode, Parse(value).Mode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("1000")]
    [InlineData("1000:1001")]
    [InlineData("x:1001:0644")]
    [InlineData("1000:x:0644")]
    [InlineData("-1:0:0644")]
    [InlineData("1:+2:0644")]
    [InlineData(" 1:2:0644")]
    [InlineData("4294967296:0:0644")]
    [InlineData("1:2:")]
    [InlineData("1:2:01006440")]
    [InlineData("1:2:0648")]
    [InlineData("1:2:06/4")]
    [InlineData("1:2:0x644")]
    [InlineData("1:2:0644:")]
    [InlineData("1:2:0644:fifo")]
    [InlineData("1:2:0644:FILE")]
    [InlineData("1:2:0666:char")]
    [InlineData("1:2:0666:char-1")]
    [InlineData("1:2:0666:char-x-3")]
    [InlineData("1:2:0666:block-8-y")]
    [InlineData("1:2:0666:block--1")]
    public void RefusesAnythingElse(string value)
    {
        Assert.Throws<InvalidDataException>(() => Parse(value));
    }

    [Theory]
    [InlineData("security.fuseoverlayfs.override_stat", 0)]
    [InlineData("user.containers.override_stat", 1)]
    [InlineData("user.fuseoverlayfs.override_stat", 2)]
    [InlineData("user.other.override_stat", -1)]
    [InlineData("trusted.overlay.opaque", -1)]
    [InlineData("", -1)]
    public void RanksTheOverrideAttributesInTheOrderFuseOverlayfsPrefers(string name, int rank)
    {
        Assert.Equal(rank, ContainersOverrideStat.Rank(Encoding.UTF8.GetBytes(name)));
    }

    private static ContainersOverrideStat Parse(string value) => ContainersOverrideStat.Parse(Encoding.UTF8.GetBytes(value));
}
