using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>Extended attributes beyond what a PAX header carries fail the entry as they are read, not once all are in memory.</summary>
[Collection(SerialTests.Name)]
public sealed class OversizedXattrTests
{
    // XFS keeps values of up to 64 KiB and many of them: 20 of 60 KiB are 1.2 MB, past the 1 MiB a PAX header holds here.
    [Fact]
    public async Task AFileWithMoreXattrBytesThanAPaxHeaderHoldsFailsNamingTheCause()
    {
        await using var fileSystem = await ScratchFileSystem.MountAsync("xfs");
        var store = Path.Combine(fileSystem.MountPoint, "store");
        var tree = new LayerTree(Directory.CreateDirectory(Path.Combine(store, "big", "diff")).FullName);
        await File.WriteAllTextAsync(Path.Combine(store, "big", "layer.json"), "{}");
        tree.File("heavy", "data\n");
        for (var i = 0; i < 20; i++)
        {
            Posix.SetXattr(Path.Combine(tree.Root, "heavy"), $"user.a{i:D2}", new byte[60 * 1024]);
        }

        using var layers = new NativeLayerStore(store);
        var failure = await Assert.ThrowsAsync<LayerExportException>(() => TarExport.ToBytesAsync(layers, "big", CancellationToken.None));

        Assert.Equal("heavy", failure.Path);
        Assert.Contains("extended attributes take more than the 1048576 bytes a PAX header holds", failure.Message, StringComparison.Ordinal);
    }
}
