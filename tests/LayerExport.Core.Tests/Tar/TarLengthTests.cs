using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Tar;

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
}
