using LayerExport.Core.Reader;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>
/// A file that shrinks or grows while it is being read fails the export naming the file, and the archive never
/// gets its end-of-archive blocks, so no reader can take the truncated stream for a whole layer.
/// </summary>
[Collection(SerialTests.Name)]
public sealed class ChangingFileExportTests : IDisposable
{
    private const int Block = 512;
    private const int FileSize = 8 * 1024 * 1024;
    private const int ReadBeforeChange = 512 * 1024;

    private readonly TestLayerStore _store = new();
    private readonly LayerTree _tree;

    public ChangingFileExportTests()
    {
        // No zero bytes in the data, so zero blocks at the end of what arrived can only be end-of-archive blocks.
        var content = new byte[FileSize];
        for (var i = 0; i < content.Length; i++)
        {
            content[i] = (byte)((i % 251) + 1);
        }

        _tree = _store.AddLayer("big").File("data/big.bin", content).File("data/later.txt", "written after big.bin\n");
    }

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task FileThatShrinksFailsTheExport()
    {
        var (error, received, progress) = await ExportWhileChangingAsync(path =>
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
            file.SetLength(FileSize / 2);
        });

        Assert.Equal("data/big.bin", error.Path);
        Assert.Contains("shrank", Assert.IsType<LayerChangedException>(error.InnerException).Message, StringComparison.Ordinal);
        Assert.InRange(progress, ReadBeforeChange, (2 * Block) + (FileSize / 2));
        AssertNoEndOfArchive(received);
    }

    [Fact]
    public async Task FileThatGrowsFailsTheExport()
    {
        var (error, received, progress) = await ExportWhileChangingAsync(path =>
        {
            using var file = new FileStream(path, FileMode.Append, FileAccess.Write);
            file.Write(new byte[Block]);
        });

        Assert.Equal("data/big.bin", error.Path);
        Assert.Contains("grew", Assert.IsType<LayerChangedException>(error.InnerException).Message, StringComparison.Ordinal);

        // data/, the file's header and all the data the header promised, then nothing: no padding, no next
        // entry, no end blocks.
        Assert.Equal((2 * Block) + FileSize, progress);
        AssertNoEndOfArchive(received);
    }

    private async Task<(LayerExportException Error, byte[] Received, long Progress)> ExportWhileChangingAsync(Action<string> change)
    {
        var descriptors = OpenFileDescriptors.Snapshot();
        LayerExportException error;
        byte[] received;
        long progress;
        using (var export = new ThrottledExport(_store.Root, "big", CancellationToken.None))
        {
            // The writer can be at most one read chunk ahead of what was read here, far from the new end of the file.
            await export.ReadAtLeastAsync(ReadBeforeChange);
            change(_tree.PathOf("data/big.bin"));

            var readerSaw = await export.DrainAsync();
            error = await Assert.ThrowsAsync<LayerExportException>(() => export.Writing);
            Assert.Same(error, readerSaw);

            // The failed export closed every directory and file it opened (data/ and big.bin among them); the
            // store root and the prepared layer's diff/ stay open until they are disposed.
            Assert.Equal([_store.Root, Path.Combine(_store.Root, "big", "diff")], OpenFileDescriptors.Under(_store.Root));
            Assert.Equal(1, export.Progress.EntriesWritten);
            received = export.Received;
            progress = export.Progress.BytesWritten;
            Assert.True(received.Length <= progress, $"{received.Length} bytes arrived, {progress} were written");
        }

        Assert.Empty(OpenFileDescriptors.Under(_store.Root));
        // Descriptors other code opened may have closed meanwhile; none may have been left open.
        Assert.Empty(OpenFileDescriptors.Snapshot().Except(descriptors));
        return (error, received, progress);
    }

    private static void AssertNoEndOfArchive(byte[] received)
    {
        Assert.Equal("data/big.bin\0"u8.ToArray(), received.AsSpan(Block, 13).ToArray());
        Assert.True(received.Length >= 2 * Block, $"only {received.Length} bytes arrived");
        Assert.True(received.AsSpan(received.Length - (2 * Block)).ContainsAnyExcept((byte)0), "the stream ends in two zero blocks");
    }
}
