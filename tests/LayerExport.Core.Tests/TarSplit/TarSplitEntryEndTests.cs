using System.IO.Pipelines;
using LayerExport.Core.Export;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.TarSplit;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>
/// After a failed reassembly, how many zero bytes would complete the last entry: what the server needs to end a
/// plain tar in a marker no tar reader takes for a whole archive (see IncompleteArchiveMarker).
/// </summary>
public sealed class TarSplitEntryEndTests : IDisposable
{
    private const string Malformed = "not json";

    private readonly SyntheticLayer _layer = new();

    public void Dispose() => _layer.Dispose();

    [Fact]
    public async Task BeforeTheFirstSegmentNothingIsMissing()
    {
        var assembler = await FailAsync([Malformed]);

        Assert.Equal(0, assembler.BytesWritten);
        Assert.Equal(0, assembler.PaddingToEntryEnd);
    }

    [Fact]
    public async Task AfterAFilesLastByteItsPaddingIsMissing()
    {
        var assembler = await FailAsync([SyntheticLayer.Lines[0], SyntheticLayer.Lines[1], Malformed]);

        Assert.Equal(512 + SyntheticLayer.A.Length, assembler.BytesWritten);
        Assert.Equal(512 - SyntheticLayer.A.Length, assembler.PaddingToEntryEnd);
    }

    [Fact]
    public async Task ASegmentWaitsForThePartAfterItSoAFailedRecordLeavesTheLastEntryEndKnown()
    {
        // A segment holds padding and the next header together: written, it would leave the entry end unknown.
        var assembler = await FailAsync([.. SyntheticLayer.Lines[..3], Malformed]);

        Assert.Equal(512 + SyntheticLayer.A.Length, assembler.BytesWritten);
        Assert.Equal(512 - SyntheticLayer.A.Length, assembler.PaddingToEntryEnd);
        Assert.False(assembler.EndsInsideEntry);
    }

    [Fact]
    public async Task AnEntryWithoutContentEndsWithItsHeader()
    {
        var assembler = await FailAsync([SyntheticLayer.Lines[0], SyntheticRecord.File("dir/", [], 1), Malformed]);

        Assert.Equal(512, assembler.BytesWritten);
        Assert.Equal(0, assembler.PaddingToEntryEnd);
        Assert.False(assembler.EndsInsideEntry);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AFileThatFailsEndsTheTarAfterItsHeaderInsideItsEntry(bool large)
    {
        // A small file fails on the read-ahead's thread, a large one on the writer's: either way its header goes out.
        var content = new byte[large ? PrefetchingEntryReader.SmallFileLimit + 1 : 100];
        File.WriteAllBytes(Path.Combine(_layer.Root, "changed.bin"), [.. content, 1]);
        using var root = FileDescriptor.OpenDirectory(_layer.Root);
        using var record = SyntheticLayer.OpenRecord([SyntheticLayer.Lines[0], SyntheticRecord.File("changed.bin", content, 1), SyntheticRecord.Segment(new byte[1024], 2)]);
        var assembler = new TarSplitAssembler(root);

        var error = await Assert.ThrowsAsync<LayerExportException>(
            () => assembler.WriteAsync(record, new Pipe().Writer, null, CancellationToken.None));

        Assert.Equal("changed.bin", error.Path);
        Assert.Equal(512, assembler.BytesWritten);
        Assert.Null(assembler.PaddingToEntryEnd);
        Assert.True(assembler.EndsInsideEntry);
    }

    [Fact]
    public async Task ATarThatFailsItsCheckEndsBeforeItsLastSegmentWithTheLastPaddingKnown()
    {
        using var root = FileDescriptor.OpenDirectory(_layer.Root);
        using var record = SyntheticLayer.OpenRecord(SyntheticLayer.Lines);
        var assembler = new TarSplitAssembler(root);

        var error = await Assert.ThrowsAsync<LayerExportException>(
            () => assembler.WriteAsync(record, new Pipe().Writer, new ExpectedTar(SyntheticLayer.Tar.Length + 512, null), CancellationToken.None));

        Assert.Equal("(end of archive)", error.Path);
        Assert.Equal(SyntheticLayer.BStart + SyntheticLayer.B.Length, assembler.BytesWritten);
        Assert.Equal(1024 - SyntheticLayer.B.Length, assembler.PaddingToEntryEnd);
        Assert.False(assembler.EndsInsideEntry);
    }

    [Fact]
    public async Task AfterAWholeFileWhoseSizeIsWholeBlocksNothingIsMissing()
    {
        File.WriteAllBytes(Path.Combine(_layer.Root, "block.bin"), new byte[512]);

        var assembler = await FailAsync([SyntheticLayer.Lines[0], SyntheticRecord.File("block.bin", new byte[512], 1), Malformed]);

        Assert.Equal(1024, assembler.BytesWritten);
        Assert.Equal(0, assembler.PaddingToEntryEnd);
    }

    private async Task<TarSplitAssembler> FailAsync(string[] lines)
    {
        using var root = FileDescriptor.OpenDirectory(_layer.Root);
        using var record = SyntheticLayer.OpenRecord(lines);
        var assembler = new TarSplitAssembler(root);

        var error = await Assert.ThrowsAsync<LayerExportException>(
            () => assembler.WriteAsync(record, new Pipe().Writer, null, CancellationToken.None));

        Assert.Equal("(tar-split record)", error.Path);
        return assembler;
    }
}
