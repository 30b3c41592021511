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
    public async Task TheWhiteoutXattrDeletesOnlyAsAZeroSizeFileInAnXMarkedDirectory()
    {
        // Outside an "x" directory, or on a file with content, the xattr is not a deletion: the file is kept as is.
        _store.AddLayer("layer")
            .Directory("marked")
            .Xattr("marked", "trusted.overlay.opaque", "x")
            .File("marked/gone", "")
            .Xattr("marked/gone", "trusted.overlay.whiteout", "")
            .File("marked/full", "content\n")
            .Xattr("marked/full", "trusted.overlay.whiteout", "")
            .Directory("plain")
            .File("plain/empty", "")
            .Xattr("plain/empty", "trusted.overlay.whiteout", "");

        var members = await PythonTarfile.ListAsync(await _store.ExportToFileAsync("layer"));

        Assert.Equal(
            [("marked", '5', 0L), ("marked/.wh.gone", '0', 0L), ("marked/full", '0', 8L), ("plain", '5', 0L), ("plain/empty", '0', 0L)],
            members.Select(m => (m.Name, m.Type, m.Size)));
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

    [Fact]
    public async Task ContainersOverrideStatGivesTheTrueOwnerModeAndTypeAndIsNotExported()
    {
        _store.AddLayer("layer")
            .Directory("etc", "700")
            .Xattr("etc", "user.containers.override_stat", "0:0:0755:dir")
            .File("etc/app.conf", "setting\n", "600")
            .Xattr("etc/app.conf", "user.containers.override_stat", "1000:1001:0644:file")
            .File("etc/link", "app.conf", "600")
            .Xattr("etc/link", "user.containers.override_stat", "0:0:0777:symlink")
            .File("etc/null", "", "600")
            .Xattr("etc/null", "user.containers.override_stat", "0:0:0666:char-1-3");

        var path = await _store.ExportToFileAsync("layer");
        var listing = await GnuTar.ListVerboseAsync(path);
        var bytes = await File.ReadAllBytesAsync(path);

        Assert.Contains(listing, line => Matches(line, "drwxr-xr-x", "0/0", " etc/"));
        Assert.Contains(listing, line => Matches(line, "-rw-r--r--", "1000/1001", " etc/app.conf"));
        Assert.Contains(listing, line => Matches(line, "lrwxrwxrwx", "0/0", " etc/link -> app.conf"));
        Assert.Contains(listing, line => Matches(line, "crw-rw-rw-", "0/0", " etc/null") && line.Contains(" 1,3 ", StringComparison.Ordinal));
        Assert.Equal(-1, bytes.AsSpan().IndexOf("override_stat"u8));
    }

    // Rootless containers/storage keeps FIFOs and block devices as empty regular files too.
    [Fact]
    public async Task ContainersOverrideStatTurnsAnEmptyFileIntoAFifoOrABlockDevice()
    {
        _store.AddLayer("layer")
            .File("fifo", "", "600")
            .Xattr("fifo", "user.containers.override_stat", "0:0:0640:pipe")
            .File("disk", "", "600")
            .Xattr("disk", "user.containers.override_stat", "0:6:0660:block-8-1");

        var listing = await GnuTar.ListVerboseAsync(await _store.ExportToFileAsync("layer"));

        Assert.Contains(listing, line => Matches(line, "prw-r-----", "0/0", " fifo"));
        Assert.Contains(listing, line => Matches(line, "brw-rw----", "0/6", " disk") && line.Contains(" 8,1 ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FuseOverlayfsOverrideStatGivesTheTrueOwnerAndModeAndIsNotExported()
    {
        // As Debian's fuse-overlayfs writes them in a rootless container: the mode keeps its type bits.
        _store.AddLayer("layer")
            .Directory("srv", "755")
            .Xattr("srv", "user.fuseoverlayfs.override_stat", "5:6:40750")
            .File("srv/run", "#!/bin/sh\n", "755")
            .Xattr("srv/run", "user.fuseoverlayfs.override_stat", "7:8:104711")
            .File("srv/data", "data\n", "644")
            .Xattr("srv/data", "security.fuseoverlayfs.override_stat", "9:9:100600");

        var path = await _store.ExportToFileAsync("layer");
        var listing = await GnuTar.ListVerboseAsync(path);
        var bytes = await File.ReadAllBytesAsync(path);

        Assert.Contains(listing, line => Matches(line, "drwxr-x---", "5/6", " srv/"));
        Assert.Contains(listing, line => Matches(line, "-rws--x--x", "7/8", " srv/run"));
        Assert.Contains(listing, line => Matches(line, "-rw-------", "9/9", " srv/data"));
        Assert.Equal(-1, bytes.AsSpan().IndexOf("override_stat"u8));
    }

    [Fact]
    public async Task TheOverrideFuseOverlayfsPrefersWinsWhenAFileCarriesSeveral()
    {
        _store.AddLayer("layer")
            .File("conf", "x\n", "644")
            .Xattr("conf", "user.fuseoverlayfs.override_stat", "1:1:100600")
            .Xattr("conf", "user.containers.override_stat", "2:2:0640:file")
            .Xattr("conf", "security.fuseoverlayfs.override_stat", "3:3:100604");

        var listing = await GnuTar.ListVerboseAsync(await _store.ExportToFileAsync("layer"));

        Assert.Contains(listing, line => Matches(line, "-rw----r--", "3/3", " conf"));
    }

    public void Dispose() => _store.Dispose();

    private static bool Matches(string line, string mode, string owner, string end) =>
        line.StartsWith(mode, StringComparison.Ordinal)
        && line.Contains($" {owner} ", StringComparison.Ordinal)
        && line.EndsWith(end, StringComparison.Ordinal);
}
