using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>The newer overlay forms: xattr whiteouts in a directory marked opaque "x", and upper directories that need their lowers.</summary>
public sealed class OverlayXattrFormTests : IDisposable
{
    private readonly TestLayerStore _store = new();

    [Theory]
    [InlineData("trusted")]
    [InlineData("user")]
    public async Task AZeroSizeFileWithTheWhiteoutXattrInAnXMarkedDirectoryIsAWhiteout(string ns)
    {
        _store.AddLayer("layer")
            .Directory("dir")
            .Xattr("dir", $"{ns}.overlay.opaque", "x")
            .File("dir/gone", "")
            .Xattr("dir/gone", $"{ns}.overlay.whiteout", "")
            .File("dir/kept", "still here\n")
            .File("dir/empty", "");

        var names = await GnuTar.ListNamesAsync(await _store.ExportToFileAsync("layer"));

        // "x" is not opaque: no opaque marker; the marked file is a whiteout, an ordinary empty file is not.
        Assert.Equal(["dir/", "dir/.wh.gone", "dir/empty", "dir/kept"], names);
    }

    [Fact]
    public async Task TheSameDeletionInAllThreeOnDiskFormsExportsToTheSameBytes()
    {
        _store.AddLayer("device").Directory("dir").OverlayWhiteout("dir/gone").File("dir/kept", "k\n");
        _store.AddLayer("file").Directory("dir").File("dir/.wh.gone", "").File("dir/kept", "k\n");
        _store.AddLayer("xattr").Directory("dir").Xattr("dir", "trusted.overlay.opaque", "x")
            .File("dir/gone", "").Xattr("dir/gone", "trusted.overlay.whiteout", "").File("dir/kept", "k\n");
        foreach (var id in (string[])["device", "file", "xattr"])
        {
            new LayerTree(Path.Combine(_store.Root, id, "diff")).SetAllTimes(1_600_000_000);
        }

        var device = await _store.ExportAsync("device");
        var file = await _store.ExportAsync("file");
        var xattr = await _store.ExportAsync("xattr");

        Assert.Equal(device, file);
        Assert.Equal(device, xattr);
    }

    [Theory]
    [InlineData("trusted.overlay.redirect", "/elsewhere")]
    [InlineData("trusted.overlay.metacopy", "")]
    public async Task AnUpperDirectoryThatNeedsItsLowersIsRefusedNamingTheEntry(string xattr, string value)
    {
        _store.AddLayer("layer").Directory("moved").Xattr("moved", xattr, value).File("moved/file", "x\n");

        var failure = await Assert.ThrowsAsync<LayerExportException>(() => _store.ExportAsync("layer"));

        Assert.Equal("moved", failure.Path);
        Assert.Contains(xattr, failure.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _store.Dispose();
}
