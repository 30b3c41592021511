using System.IO.Compression;
using System.Text;
using LayerExport.Core.Store;
using LayerExport.Core.TarSplit;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>A record is only measured as a tar when the tar it describes ends with the end-of-archive blocks.</summary>
public class TarSplitEndOfArchiveTests
{
    private static readonly string[] Lines =
    [
        SyntheticRecord.Segment(HeaderBlock(), 0),
        SyntheticRecord.File("a.txt", Encoding.ASCII.GetBytes("hi\n"), 1),
        SyntheticRecord.Segment(new byte[509], 2),
        SyntheticRecord.Segment(new byte[1024], 3),
    ];

    [Fact]
    public void AWholeRecordIsMeasured()
    {
        using var record = SyntheticRecord.Open(SyntheticRecord.Compress(Lines));

        Assert.Equal(2048, TarSplitAssembler.MeasureTarLength(record, CancellationToken.None));
    }

    [Fact]
    public void ZeroPaddingAfterTheEndBlocksAndEmptyEntriesAfterThemAreAccepted()
    {
        // GNU tar pads the archive to its 10 KiB record size; tar-split keeps that as one more segment.
        string[] padded = [.. Lines, SyntheticRecord.Segment(new byte[8192], 4), """{"type":1,"name":"empty","position":5}"""];
        using var record = SyntheticRecord.Open(SyntheticRecord.Compress(padded));

        Assert.Equal(2048 + 8192, TarSplitAssembler.MeasureTarLength(record, CancellationToken.None));
    }

    // As a record written whole but short of its last lines: the gzip stream is fine, only the tar it describes can tell.
    [Theory]
    [InlineData(0, 0)]
    [InlineData(2, 515)]
    [InlineData(3, 1024)]
    public void ARecordWithoutItsLastLinesIsInconsistent(int linesKept, long length)
    {
        using var record = SyntheticRecord.Open(SyntheticRecord.Compress(Lines.Take(linesKept)));

        var error = Assert.Throws<LayerStoreCorruptException>(() => TarSplitAssembler.MeasureTarLength(record, CancellationToken.None));

        Assert.Contains($"describes a tar of {length} bytes that does not end with the two zero blocks", error.Message, StringComparison.Ordinal);
        Assert.Contains("cut short", error.Message, StringComparison.Ordinal);
    }

    // As a writer that flushes after every line and stops leaves it; GZipStream notices only with strict validation.
    [Theory]
    [InlineData(2, false)]
    [InlineData(4, false)]
    [InlineData(4, true)]
    public void AGzipStreamWithoutItsTrailerIsNotValidGzip(int linesKept, bool finalBlock)
    {
        using var record = SyntheticRecord.Open(WithoutTrailer(linesKept, finalBlock));

        var error = Assert.Throws<TarSplitRecordException>(() => TarSplitAssembler.MeasureTarLength(record, CancellationToken.None));

        Assert.Contains("not valid gzip", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARecordEndingInAFileIsInconsistent()
    {
        using var record = SyntheticRecord.Open(SyntheticRecord.Compress([SyntheticRecord.Segment(new byte[1024], 0), Lines[1]]));

        Assert.Throws<LayerStoreCorruptException>(() => TarSplitAssembler.MeasureTarLength(record, CancellationToken.None));
    }

    private static byte[] HeaderBlock()
    {
        var block = new byte[512];
        Encoding.ASCII.GetBytes("a.txt").CopyTo(block, 0);
        return block;
    }

    private static byte[] WithoutTrailer(int linesKept, bool finalBlock)
    {
        var output = new MemoryStream();
        output.Write([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
        using (var deflate = new DeflateStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            foreach (var line in Lines.Take(linesKept))
            {
                deflate.Write(Encoding.UTF8.GetBytes(line + "\n"));
                deflate.Flush();
            }

            if (!finalBlock)
            {
                return output.ToArray();
            }
        }

        return output.ToArray();
    }
}
