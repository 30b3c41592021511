using System.IO.Pipelines;
using LayerExport.Core.Native;
using LayerExport.Core.TarSplit;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>A cancelled reassembly stops at the next entry or the next read of a file, having written nothing past it.</summary>
public sealed class TarSplitCancellationTests : IDisposable
{
    private readonly SyntheticLayer _layer = new();

    public void Dispose() => _layer.Dispose();

    [Fact]
    public async Task AReassemblyCancelledBeforeItStartsWritesNothing()
    {
        using var root = FileDescriptor.OpenDirectory(_layer.Root);
        using var record = SyntheticLayer.OpenRecord(SyntheticLayer.Lines);
        var output = new MemoryStream();
        var assembler = new TarSplitAssembler(root);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => assembler.WriteAsync(record, PipeWriter.Create(output), null, new CancellationToken(canceled: true)));

        // Not even the first segment, which needs no file: the check comes before every entry.
        Assert.Equal(0, assembler.BytesWritten);
        Assert.Equal(0, assembler.EntriesWritten);
    }

    [Fact]
    public async Task ARangeCancelledBeforeItStartsWritesNothing()
    {
        using var root = FileDescriptor.OpenDirectory(_layer.Root);
        using var record = SyntheticLayer.OpenRecord(SyntheticLayer.Lines);
        var output = new MemoryStream();
        var assembler = new TarSplitAssembler(root);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => assembler.WriteRangeAsync(record, PipeWriter.Create(output), 0, SyntheticLayer.Tar.Length, new CancellationToken(canceled: true)));

        Assert.Equal(0, assembler.BytesWritten);
        Assert.Equal(0, assembler.EntriesWritten);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AnExportCancelledWhileAFileIsOpenedReadsNoneOfItAndEndsCancelled(bool range)
    {
        using var root = FileDescriptor.OpenDirectory(_layer.Root);
        using var record = SyntheticLayer.OpenRecord(SyntheticLayer.Lines);
        using var cancellation = new CancellationTokenSource();
        var assembler = new TarSplitAssembler(root);
        var output = PipeWriter.Create(new MemoryStream());

        // The token is cancelled as a.txt is opened. A range opens it after the check before its entry: only the
        // check before each read of the file can stop it there. A whole export opens it ahead, on the read-ahead's
        // thread, while the writer may still be anywhere before it. A cancellation inside a file's copy stays a
        // cancellation, not that file's failure.
        var error = Record.Exception(() => SyscallRace.AtOpen(
            () =>
            {
                Task written = range
                    ? assembler.WriteRangeAsync(record, output, 0, SyntheticLayer.Tar.Length, cancellation.Token)
                    : assembler.WriteAsync(record, output, null, cancellation.Token);
                written.GetAwaiter().GetResult();
                return 0;
            },
            name =>
            {
                if (name == "a.txt")
                {
                    cancellation.Cancel();
                }
            }));

        Assert.IsAssignableFrom<OperationCanceledException>(error);
        Assert.InRange(assembler.BytesWritten, range ? SyntheticLayer.AStart : 0, SyntheticLayer.AStart);
        Assert.Equal(0, assembler.EntriesWritten);
    }
}
