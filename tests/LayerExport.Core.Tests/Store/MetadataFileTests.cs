using LayerExport.Core.Native;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Store;

/// <summary>How a layer's small metadata files (layer.json, link, parent, cache-id, diff) are read, and which are refused.</summary>
public sealed class MetadataFileTests : IDisposable
{
    private static readonly LayerId Id = LayerId.Parse("layer");

    private readonly TempDirectory _directory = new();

    // The limit is inclusive: a file of exactly 64 KiB is still read whole.
    [Fact]
    public void AFileOfExactlyTheLimitIsReadWhole()
    {
        var content = Enumerable.Range(0, 64 * 1024).Select(i => (byte)i).ToArray();
        File.WriteAllBytes(_directory.Combine("layer.json"), content);
        using var directory = FileDescriptor.OpenDirectory(_directory.Path);

        Assert.Equal(content, MetadataFile.Read(Id, directory, "layer.json"));
    }

    // A metadata file can be a hard link to any file of the store's file system; one byte over the limit is not read at all.
    [Fact]
    public void AFileOneByteOverTheLimitIsInconsistent()
    {
        File.WriteAllBytes(_directory.Combine("layer.json"), new byte[(64 * 1024) + 1]);
        using var directory = FileDescriptor.OpenDirectory(_directory.Path);

        var error = Assert.Throws<LayerStoreCorruptException>(() => MetadataFile.Read(Id, directory, "layer.json"));

        Assert.Equal("Layer 'layer': layer.json is not a regular file of at most 65536 bytes.", error.Message);
    }

    // A FIFO opens without blocking and has size 0; it must be refused for its type, not read as an empty file.
    [Fact]
    public void AFifoInPlaceOfTheFileIsInconsistentNotEmpty()
    {
        Posix.MakeFifo(_directory.Combine("parent"));
        using var directory = FileDescriptor.OpenDirectory(_directory.Path);

        var error = Assert.Throws<LayerStoreCorruptException>(() => MetadataFile.ReadText(Id, directory, "parent"));

        Assert.Equal("Layer 'layer': parent is not a regular file of at most 65536 bytes.", error.Message);
    }

    // Looked at, not opened: a FIFO's waiting writer is not woken, a device's driver not run.
    [Fact]
    public void AFifoInPlaceOfTheFileIsNeverOpened()
    {
        using var writer = WaitingFifoWriter.Start(_directory.Combine("layer.json"));
        using var directory = FileDescriptor.OpenDirectory(_directory.Path);

        Assert.Throws<LayerStoreCorruptException>(() => MetadataFile.Read(Id, directory, "layer.json"));

        Assert.True(writer.IsWaiting, "the FIFO was opened");
    }

    // Another program may rewrite the file between its status and the read: what is there is returned, no padding,
    // and the read ends at the new end of file instead of waiting for the bytes the status promised.
    [Fact]
    public void AFileThatShrankAfterItsStatusIsReadAsItIsNow()
    {
        var path = _directory.Combine("cache-id");
        File.WriteAllText(path, "0123456789abcdef");
        using var directory = FileDescriptor.OpenDirectory(_directory.Path);
        using var file = MetadataFile.Open(Id, directory, "cache-id", out var status);
        Assert.NotNull(file);

        using (var shrink = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            shrink.SetLength(4);
        }

        Assert.Equal("0123"u8.ToArray(), MetadataFile.ReadAll(Id, file, status, "cache-id"));
    }

    public void Dispose() => _directory.Dispose();
}
