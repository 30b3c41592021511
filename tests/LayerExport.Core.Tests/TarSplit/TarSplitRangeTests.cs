using System.IO.Pipelines;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.TarSplit;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>A byte range of a reassembled layer: exactly that slice of the whole tar, reading only the files it covers.</summary>
public sealed class TarSplitRangeTests : IDisposable
{
    private readonly SyntheticLayer _layer = new();

    public void Dispose() => _layer.Dispose();

    [Theory]
    [InlineData(0, 3584)]
    [InlineData(0, 1)]
    [InlineData(3583, 3584)]
    [InlineData(100, 515)] // ends inside a.txt
    [InlineData(513, 515)] // inside a.txt only
    [InlineData(SyntheticLayer.AStart, SyntheticLayer.AStart + 6)] // exactly a.txt
    [InlineData(600, SyntheticLayer.BStart + 100)] // from a's padding into b.bin
    [InlineData(SyntheticLayer.BStart + 699, 3584)] // b.bin's last byte and the end blocks
    [InlineData(1000, 1000)]
    public async Task ARangeIsThatSliceOfTheWholeTar(int start, int end)
    {
        Assert.Equal(3584, SyntheticLayer.Tar.Length);

        var range = await _layer.RangeAsync(start, end);

        Assert.Equal(SyntheticLayer.Tar[start..end], range);
    }

    [Theory]
    [InlineData(0, SyntheticLayer.BStart)] // ends with b.bin's header
    [InlineData(SyntheticLayer.BStart + 700, 3584)] // starts after b.bin
    public async Task AFileOutsideTheRangeIsNotOpened(int start, int end)
    {
        // b.bin is gone: a range that does not cover it must not need it.
        File.Delete(Path.Combine(_layer.Root, "b.bin"));

        var range = await _layer.RangeAsync(start, end);

        Assert.Equal(SyntheticLayer.Tar[start..end], range);
    }

    [Fact]
    public async Task AFileCutByTheRangeIsNotCheckedAgainstItsChecksumButAWholeOneIs()
    {
        // The CRC covers the whole file; a part of it cannot be checked against it, so a part is sent as it is.
        var altered = SyntheticLayer.B.ToArray();
        altered[10] ^= 0xFF;
        File.WriteAllBytes(Path.Combine(_layer.Root, "b.bin"), altered);

        var part = await _layer.RangeAsync(SyntheticLayer.BStart, SyntheticLayer.BStart + 100);
        var error = await Assert.ThrowsAsync<LayerExportException>(() => _layer.RangeAsync(SyntheticLayer.BStart - 1, SyntheticLayer.BStart + 700));

        Assert.Equal(altered[..100], part);
        Assert.Equal("b.bin", error.Path);
        Assert.Contains("checksum", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFileCutByTheRangeIsStillCheckedForItsSize()
    {
        File.WriteAllBytes(Path.Combine(_layer.Root, "b.bin"), SyntheticLayer.B[..699]);

        var error = await Assert.ThrowsAsync<LayerExportException>(() => _layer.RangeAsync(SyntheticLayer.BStart, SyntheticLayer.BStart + 100));

        Assert.Equal("b.bin", error.Path);
        Assert.Contains("is 699 bytes on disk, the tar-split record says 700", error.Message, StringComparison.Ordinal);
        Assert.IsType<LayerChangedException>(error.InnerException);
    }

    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(0, SyntheticLayer.AStart, 0)] // ends with a.txt's header, before its content
    [InlineData(0, SyntheticLayer.AStart + 6, 1)] // ends with a.txt
    [InlineData(0, SyntheticLayer.AStart + 7, 1)] // one byte into the segment after a.txt: a header is no entry of its own
    [InlineData(SyntheticLayer.AStart, SyntheticLayer.AStart + 7, 1)] // from a.txt's content: the entries and bytes before count as reached
    public async Task ARangeCountsTheEntriesUpToItsEndAndNoneAfter(int start, int end, int entries)
    {
        using var root = FileDescriptor.OpenDirectory(_layer.Root);
        using var record = SyntheticLayer.OpenRecord(SyntheticLayer.Lines);
        var assembler = new TarSplitAssembler(root);

        await assembler.WriteRangeAsync(record, PipeWriter.Create(new MemoryStream()), start, end, CancellationToken.None);

        // The figures go to the export's log and metrics, counted from the tar's start as a generated tar's are; the
        // entry that starts where the range ends is not in them.
        Assert.Equal(entries, assembler.EntriesWritten);
        Assert.Equal(end, assembler.BytesWritten);
    }

    [Fact]
    public async Task ARangePastTheTarsEndEndsWithTheTar()
    {
        // A record describing less than the range asked of it ends the range with its last byte, not with a missing entry.
        var range = await _layer.RangeAsync(1000, SyntheticLayer.Tar.Length + 100);

        Assert.Equal(SyntheticLayer.Tar[1000..], range);
    }
}
