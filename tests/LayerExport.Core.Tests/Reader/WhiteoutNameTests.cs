using System.Text;
using LayerExport.Core.Reader;

namespace LayerExport.Core.Tests.Reader;

/// <summary>Telling whiteouts and opaque markers from ordinary names, and naming the whiteout of a deleted entry.</summary>
public sealed class WhiteoutNameTests
{
    [Theory]
    [InlineData(".wh.foo", WhiteoutKind.Deletion, "foo")]
    [InlineData(".wh..hidden", WhiteoutKind.Deletion, ".hidden")]
    [InlineData(".wh..opq", WhiteoutKind.Deletion, ".opq")]
    [InlineData(".wh.", WhiteoutKind.Deletion, "")]
    [InlineData(".wh..wh..opq", WhiteoutKind.Opaque, "")]
    [InlineData(".wh..wh.plnk", WhiteoutKind.AufsMetadata, "")]
    [InlineData(".wh..wh.aufs", WhiteoutKind.AufsMetadata, "")]
    [InlineData(".wh..wh..opq.x", WhiteoutKind.AufsMetadata, "")]
    [InlineData("foo", WhiteoutKind.None, "")]
    [InlineData(".wh", WhiteoutKind.None, "")]
    [InlineData("x.wh.foo", WhiteoutKind.None, "")]
    [InlineData(".WH.foo", WhiteoutKind.None, "")]
    [InlineData("", WhiteoutKind.None, "")]
    public void ClassifiesNames(string name, WhiteoutKind kind, string deleted)
    {
        var result = WhiteoutName.Classify(Encoding.UTF8.GetBytes(name), out var deletedName);

        Assert.Equal(kind, result);
        Assert.Equal(deleted, Encoding.UTF8.GetString(deletedName));
    }

    [Fact]
    public void ForPrefixesTheDeletedName()
    {
        Assert.Equal(".wh.foo"u8.ToArray(), WhiteoutName.For("foo"u8));
        Assert.Equal(".wh."u8.ToArray(), WhiteoutName.Prefix.ToArray());
        Assert.Equal(".wh..wh..opq"u8.ToArray(), WhiteoutName.OpaqueMarker.ToArray());
    }

    [Fact]
    public void ForRoundTripsThroughClassifyWithRawBytes()
    {
        byte[] deleted = [0xff, (byte)'x', 0x80, 0x00, (byte)'y'];

        var whiteout = WhiteoutName.For(deleted);

        Assert.Equal(WhiteoutKind.Deletion, WhiteoutName.Classify(whiteout, out var classified));
        Assert.Equal(deleted, classified.ToArray());
    }
}
