using LayerExport.Core.Reader;

namespace LayerExport.Core.Tests.Reader;

/// <summary>Names are ordered by their unsigned bytes, as Go orders them.</summary>
public sealed class ByteOrderTests
{
    [Theory]
    [InlineData(new byte[] { (byte)'B' }, new byte[] { (byte)'a' })]
    [InlineData(new byte[] { (byte)'a' }, new byte[] { (byte)'a', (byte)'.' })]
    [InlineData(new byte[] { (byte)'a', (byte)'.', (byte)'b' }, new byte[] { (byte)'a', (byte)'/', (byte)'b' })]
    [InlineData(new byte[] { (byte)'z' }, new byte[] { 0x80 })]
    [InlineData(new byte[] { 0x7f }, new byte[] { 0xff })]
    [InlineData(new byte[] { }, new byte[] { 0x00 })]
    [InlineData(new byte[] { 0x00 }, new byte[] { 0x01 })]
    public void OrdersByUnsignedBytes(byte[] smaller, byte[] larger)
    {
        Assert.True(ByteOrder.Instance.Compare(smaller, larger) < 0);
        Assert.True(ByteOrder.Instance.Compare(larger, smaller) > 0);
        Assert.Equal(0, ByteOrder.Instance.Compare(smaller, smaller.ToArray()));
    }

    [Fact]
    public void NullComparesAsEmpty()
    {
        Assert.Equal(0, ByteOrder.Instance.Compare(null, []));
        Assert.Equal(0, ByteOrder.Instance.Compare(null, null));
        Assert.True(ByteOrder.Instance.Compare(null, [0x00]) < 0);
    }

    [Fact]
    public void SortsNamesOrdinallyNotCulturally()
    {
        byte[][] names = ["b"u8.ToArray(), "ä"u8.ToArray(), "B"u8.ToArray(), "a-b"u8.ToArray(), "a"u8.ToArray(), "a.b"u8.ToArray(), "a/b"u8.ToArray()];

        var sorted = names.Order(ByteOrder.Instance).Select(n => System.Text.Encoding.UTF8.GetString(n));

        Assert.Equal(["B", "a", "a-b", "a.b", "a/b", "b", "ä"], sorted);
    }
}
