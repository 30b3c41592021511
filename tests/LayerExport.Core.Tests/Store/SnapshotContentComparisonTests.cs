using System.Security.Cryptography;
using LayerExport.Core.Reader;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Store;

/// <summary>
/// A file whose mtime has no sub-second part cannot show a rewrite: its bytes are compared with the parent's copy
/// over the whole length, chunk after chunk, so a difference anywhere emits it and equal copies are not emitted.
/// </summary>
public sealed class SnapshotContentComparisonTests : IDisposable
{
    private const long Seconds = 1_700_000_000;

    // The comparison reads 64 KiB at a time: these lengths end inside a chunk and on a chunk's end.
    private const int Chunk = 64 * 1024;
    private const int Length = (3 * Chunk) + 100;

    private readonly TestSnapshotStore _store = new();

    public void Dispose() => _store.Dispose();

    [Theory]
    [InlineData(0)]
    [InlineData(Chunk + 10)]
    [InlineData(Length - 1)]
    public async Task ABytesDifferenceAnywhereEmitsTheFile(int offset)
    {
        var content = RandomNumberGenerator.GetBytes(Length);
        _store.AddLayer("base").File("file", content).ModificationTime("file", Seconds);
        var child = await _store.CopyLayerAsync("base", "child");
        content[offset] ^= 0xFF;
        await File.WriteAllBytesAsync(child.PathOf("file"), content);
        child.ModificationTime("file", Seconds);

        var names = await GnuTar.ListNamesAsync(await _store.ExportToFileAsync("child"));

        Assert.Equal(["file"], names);
    }

    [Theory]
    [InlineData(Length)]
    [InlineData(2 * Chunk)]
    public async Task EqualCopiesAreNotEmitted(int length)
    {
        var content = RandomNumberGenerator.GetBytes(length);
        _store.AddLayer("base").File("file", content).ModificationTime("file", Seconds);
        var child = await _store.CopyLayerAsync("base", "child");
        // A copy written again: another inode with the same bytes, which only the comparison can tell apart.
        File.Delete(child.PathOf("file"));
        child.File("file", content).ModificationTime("file", Seconds);

        Assert.Equal(new byte[1024], await _store.ExportAsync("child"));
    }

    // The file is listed before its bytes are compared; a copy of the parent's renamed over it in between would make
    // a changed file look unchanged, so the layer is reported as changing instead.
    [Fact]
    public async Task AFileReplacedByTheParentsBytesBeforeItIsComparedCountsAsAChange()
    {
        var content = RandomNumberGenerator.GetBytes(Length);
        _store.AddLayer("base").File("file", content).ModificationTime("file", Seconds);
        var child = await _store.CopyLayerAsync("base", "child");
        await File.WriteAllBytesAsync(child.PathOf("file"), RandomNumberGenerator.GetBytes(Length));
        child.ModificationTime("file", Seconds);
        var parentsBytes = _store.Outputs.Combine("copy");
        await File.WriteAllBytesAsync(parentsBytes, content);
        Posix.SetModificationTime(parentsBytes, Seconds, 0);
        using var store = new SnapshotLayerStore(_store.Root);
        using var layer = store.Open(LayerId.Parse("child"));
        var swapped = false;

        var error = Record.Exception(() => SyscallRace.AtOpen(
            () => ReadAll(layer),
            name =>
            {
                if (name == "file" && !swapped)
                {
                    swapped = true;
                    File.Move(parentsBytes, child.PathOf("file"), overwrite: true);
                }
            }));

        Assert.True(swapped);
        var changed = Assert.IsType<LayerChangedException>(Assert.IsType<LayerExportException>(error).InnerException);
        Assert.Equal("file was replaced while being read", changed.Message);
    }

    [Fact]
    public async Task EntriesThatAreNotRegularFilesAreNeverComparedByContent()
    {
        // Whole-second mtimes on everything, as a tree unpacked from a tar has: only regular files hold bytes to compare.
        _store.AddLayer("base").Directory("dir").Symlink("sym", "dir").Fifo("fifo").CharacterDevice("null", 1, 3)
            .File("file", "same").SetAllTimes(Seconds);
        (await _store.CopyLayerAsync("base", "child")).SetAllTimes(Seconds);

        Assert.Equal(new byte[1024], await _store.ExportAsync("child"));
    }

    private static int ReadAll(ILayerContent layer)
    {
        using var reader = layer.CreateReader(CancellationToken.None);
        var entries = 0;
        while (reader.TryRead(out var entry))
        {
            entry.Dispose();
            entries++;
        }

        return entries;
    }
}
