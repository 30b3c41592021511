using System.IO.Pipelines;
using LayerExport.Core.Native;
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
    public async Task AfterASegmentTheEntryEndIsUnknown()
    {
        // A segment holds a header or padding and the next header together: where an entry ends is not known.
        var assembler = await FailAsync([.. SyntheticLayer.Lines[..3], Malformed]);

        Assert.Equal(1536, assembler.BytesWritten);
        Assert.Null(assembler.PaddingToEntryEnd);
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
