using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Tar;

/// <summary>A tar's length is summed and padded within what a long counts, never wrapped.</summary>
public sealed class TarLengthTests
{
    // long.MaxValue itself is a length a tar may have; only passing it is refused.
    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(512, 1024, 1536)]
    [InlineData(long.MaxValue - 1024, 1024, long.MaxValue)]
    [InlineData(0, long.MaxValue, long.MaxValue)]
    [InlineData(long.MaxValue, 0, long.MaxValue)]
    public void AddsUpToTheLargestLengthALongCounts(long length, long more, long expected) =>
        Assert.Equal(expected, TarLength.Add(length, more));

    [Theory]
    [InlineData(long.MaxValue - 1024, 1025)]
    [InlineData(long.MaxValue, 1)]
    [InlineData(1, long.MaxValue)]
    [InlineData(long.MaxValue, long.MaxValue)]
    public void ASumPastTheLargestLengthIsRefusedNotWrapped(long length, long more)
    {
        var error = Assert.Throws<TarEncodingException>(() => TarLength.Add(length, more));

        // The message says how far the tar got and by how much it was to grow.
        Assert.Contains($"({more} more bytes after {length})", error.Message, StringComparison.Ordinal);
        Assert.Contains($"longer than {long.MaxValue} bytes", error.Message, StringComparison.Ordinal);
    }

    // long.MaxValue - 511 is a whole number of blocks, the largest a long can pad to.
    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 512)]
    [InlineData(511, 512)]
    [InlineData(512, 512)]
    [InlineData(513, 1024)]
    [InlineData(long.MaxValue - 511, long.MaxValue - 511)]
    public void DataIsPaddedToWholeBlocks(long length, long expected) =>
        Assert.Equal(expected, TarHeaderEncoder.PaddedLength(length));

    [Theory]
    [InlineData(long.MaxValue - 510)]
    [InlineData(long.MaxValue)]
    public void DataThatCannotBePaddedWithinALongIsRefused(long length)
    {
        var error = Assert.Throws<TarEncodingException>(() => TarHeaderEncoder.PaddedLength(length));

        Assert.Contains($"({length} bytes of data padded to whole blocks)", error.Message, StringComparison.Ordinal);
    }

    // The header block comes on top of the padded data, so the largest paddable size is still too long as an entry.
    [Fact]
    public void AnEntryIsItsHeaderItsDataAndItsPadding()
    {
        var header = new TarEntryHeader { Name = "f"u8.ToArray(), Type = TarEntryType.RegularFile, Size = 1000 };

        Assert.Equal(512 + 1024, TarHeaderEncoder.EntryLength(header));
        Assert.Throws<TarEncodingException>(() => TarHeaderEncoder.EntryLength(header with { Size = long.MaxValue - 511 }));
    }
}
