using System.IO.Pipelines;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.TarSplit;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>
/// A recorded layer's file that shrinks or grows after its status was taken, while its bytes are being copied, fails
/// the reassembly naming the file: the record's checksum alone cannot tell a file that grew, since the bytes it
/// covers are unchanged.
/// </summary>
public sealed class TarSplitChangingFileTests : IDisposable
{
    private const int FileSize = 8 * 1024 * 1024;
    private const int ReadBeforeChange = 512 * 1024;

    private static readonly byte[] Header = [.. Enumerable.Repeat((byte)'h', 512)];
    private static readonly byte[] Content = [.. Enumerable.Range(0, FileSize).Select(i => (byte)((i % 251) + 1))];

    private readonly TempDirectory _root = new("layerexport-tarsplit-changing-");

    public TarSplitChangingFileTests() => File.WriteAllBytes(Path, Content);

    private string Path => _root.Combine("big.bin");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task AFileThatShrinksWhileItIsCopiedFailsTheReassemblyNamingIt()
    {
        var (error, received) = await ReassembleWhileChangingAsync(path =>
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
            file.SetLength(FileSize / 2);
        });

        Assert.Equal("big.bin", error.Path);
        Assert.Contains($"shrank to {FileSize / 2} bytes", Assert.IsType<LayerChangedException>(error.InnerException).Message, StringComparison.Ordinal);
        Assert.InRange(received, Header.Length + ReadBeforeChange, Header.Length + (FileSize / 2));
    }

    [Fact]
    public async Task AFileThatGrowsWhileItIsCopiedFailsTheReassemblyNamingIt()
    {
        var (error, received) = await ReassembleWhileChangingAsync(path =>
        {
            using var file = new FileStream(path, FileMode.Append, FileAccess.Write);
            file.Write(Header);
        });

        Assert.Equal("big.bin", error.Path);
        Assert.Contains($"grew past the {FileSize} bytes", Assert.IsType<LayerChangedException>(error.InnerException).Message, StringComparison.Ordinal);

        // At most the header and the bytes the record promised: never the end blocks.
        Assert.InRange(received, Header.Length + ReadBeforeChange, Header.Length + FileSize);
    }

    private async Task<(LayerExportException Error, long Received)> ReassembleWhileChangingAsync(Action<string> change)
    {
        string[] lines =
        [
            SyntheticRecord.Segment(Header, 0),
            SyntheticRecord.File("big.bin", Content, 1),
            SyntheticRecord.Segment(new byte[1024], 2),
        ];
        using var root = FileDescriptor.OpenDirectory(_root.Path);
        using var record = SyntheticLayer.OpenRecord(lines);

        // The assembler stalls once 64 KiB wait, so it is at most that and one read ahead of what was taken here.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024));
        var writing = Task.Run(async () =>
        {
            try
            {
                await new TarSplitAssembler(root).WriteAsync(record, pipe.Writer, null, CancellationToken.None);
                await pipe.Writer.CompleteAsync();
            }
            catch (Exception e)
            {
                await pipe.Writer.CompleteAsync(e);
                throw;
            }
        });

        var received = await ReadAsync(pipe.Reader, Header.Length + ReadBeforeChange);
        Assert.InRange(received, Header.Length + ReadBeforeChange, FileSize / 4);
        change(Path);
        received += await ReadAsync(pipe.Reader, long.MaxValue);
        return (await Assert.ThrowsAsync<LayerExportException>(() => writing), received);
    }

    /// <summary>Takes at least <paramref name="bytes"/>, or all there is until the writer completes, with or without an error.</summary>
    private static async Task<long> ReadAsync(PipeReader reader, long bytes)
    {
        var taken = 0L;
        try
        {
            while (taken < bytes)
            {
                var result = await reader.ReadAsync();
                taken += result.Buffer.Length;
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (LayerExportException)
        {
            // The writer's error; the test reads it from the writing task.
        }

        return taken;
    }
}
