using LayerExport.Core.Store;
using LayerExport.Core.TarSplit;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>Measuring the tar a record describes: its length up to what a long counts, and the zeros that end it.</summary>
public sealed class TarSplitMeasureTests
{
    // Ends in a non-zero byte, so only the zeros after it count towards the end blocks.
    private static readonly string Header = SyntheticRecord.Segment([.. new byte[511], 1], 0);
    private static readonly string EndBlocks = SyntheticRecord.Segment(new byte[1024], 2);

    [Fact]
    public void ExactlyTwoZeroBlocksAfterTheLastNonZeroByteEndTheTar()
    {
        using var whole = SyntheticRecord.Open(SyntheticRecord.Compress([Header, EndBlocks]));
        using var shortOfOneByte = SyntheticRecord.Open(SyntheticRecord.Compress([Header, SyntheticRecord.Segment(new byte[1023], 1)]));

        Assert.Equal(1536, TarSplitAssembler.MeasureTarLength(whole, CancellationToken.None));
        Assert.Throws<LayerStoreCorruptException>(() => TarSplitAssembler.MeasureTarLength(shortOfOneByte, CancellationToken.None));
    }

    [Fact]
    public void ZerosBeforeANonZeroByteDoNotCount()
    {
        // The zeros run is counted from the last non-zero byte, even when that is a segment's first byte.
        using var record = SyntheticRecord.Open(SyntheticRecord.Compress(
            [SyntheticRecord.Segment(new byte[1024], 0), SyntheticRecord.Segment([1, .. new byte[10]], 1)]));

        Assert.Throws<LayerStoreCorruptException>(() => TarSplitAssembler.MeasureTarLength(record, CancellationToken.None));
    }

    [Fact]
    public void ATarOfExactlyLongMaxValueBytesIsMeasured()
    {
        using var record = SyntheticRecord.Open(SyntheticRecord.Compress([Header, HugeFile(long.MaxValue - 1536), EndBlocks]));

        Assert.Equal(long.MaxValue, TarSplitAssembler.MeasureTarLength(record, CancellationToken.None));
    }

    [Fact]
    public void SizesAddingUpPastLongMaxValueAreRefusedNotWrapped()
    {
        using var record = SyntheticRecord.Open(SyntheticRecord.Compress([Header, HugeFile(long.MaxValue - 1535), EndBlocks]));

        var error = Assert.Throws<TarSplitRecordException>(() => TarSplitAssembler.MeasureTarLength(record, CancellationToken.None));

        Assert.Equal(3, error.LineNumber);
        Assert.Contains("more than 2^63 bytes", error.Message, StringComparison.Ordinal);
    }

    // A file entry as tar-split writes it; its checksum is never read here, since measuring opens no file.
    private static string HugeFile(long size) =>
        $$"""{"type":1,"name":"huge","size":{{size}},"payload":"AAAAAAAAAAA=","position":1}""";
}
