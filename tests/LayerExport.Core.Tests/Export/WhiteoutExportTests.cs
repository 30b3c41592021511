using System.Security.Cryptography;
using System.Text;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>Deletions and opaque directories, read from both on-disk forms, checked with GNU tar and Python's tarfile.</summary>
public sealed class WhiteoutExportTests : IDisposable
{
    private const long Mtime = 1_700_000_000;

    // Whiteouts come right after their directory, the opaque marker first, before any child, even children
    // such as '+plus' whose names sort before '.wh.'.
    private static readonly string[] ExpectedNames =
    [
        ".wh.removed-dir",
        "etc/",
        "etc/.wh.passwd",
        "etc/.wh.shadow",
        "etc/+plus",
        "etc/hostname",
        "opt/",
        "opt/.wh..wh..opq",
        "opt/app/",
        "opt/app/.wh.old",
        "opt/app/keep",
        "var/",
        "var/cache/",
        "var/cache/.wh..wh..opq",
        "var/cache/.wh.-old",
        "var/cache/new",
    ];

    private readonly TestLayerStore _store = new();

    public WhiteoutExportTests()
    {
        BuildOverlayForm(_store.AddLayer("overlay"));
        BuildAufsForm(_store.AddLayer("aufs"));
        BuildOverlayForm(_store.AddLayer("opaque-root-overlay").Xattr("", "trusted.overlay.opaque", "y"));
        BuildAufsForm(_store.AddLayer("opaque-root-aufs").File(".wh..wh..opq", ""));
    }

    public void Dispose() => _store.Dispose();

    [Theory]
    [InlineData("", ".wh.")]
    [InlineData("", ".wh..")]
    [InlineData("", ".wh...")]
    [InlineData("sub", ".wh..")]
    [InlineData("sub", ".wh...")]
    public async Task AWhiteoutOfNothingOrOfADirectoryItselfOrItsParentFailsTheExport(string directory, string whiteout)
    {
        var path = directory.Length == 0 ? whiteout : $"{directory}/{whiteout}";
        var layer = _store.AddLayer("dot-whiteout");
        if (directory.Length > 0)
        {
            layer.Directory(directory, "755");
        }

        layer.File(path, "");

        var failure = await Assert.ThrowsAsync<LayerExportException>(() => _store.ExportAsync("dot-whiteout"));

        Assert.Equal(path, failure.Path);
        Assert.Contains("must name an entry of its directory", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("overlay")]
    [InlineData("aufs")]
    public async Task WhiteoutsFollowTheirDirectoryBeforeItsChildren(string layer)
    {
        var archive = await _store.ExportToFileAsync(layer);

        Assert.Equal(ExpectedNames, await GnuTar.ListNamesAsync(archive));
    }

    [Theory]
    [InlineData("overlay")]
    [InlineData("aufs")]
    public async Task WhiteoutsCarryNoMetadata(string layer)
    {
        var members = await PythonTarfile.ListAsync(await _store.ExportToFileAsync(layer));

        var whiteouts = members.Where(m => Path.GetFileName(m.Name).StartsWith(".wh.", StringComparison.Ordinal)).ToList();
        Assert.Equal(7, whiteouts.Count);
        Assert.All(whiteouts, w =>
        {
            Assert.Equal('0', w.Type);
            Assert.Equal((0L, 0L, 0L, 0L, 0.0), (w.Size, w.Mode, w.Uid, w.Gid, w.Mtime));
            Assert.Empty(w.Pax);
        });
        Assert.All(members.Except(whiteouts), m => Assert.Equal(Mtime, m.Mtime));
    }

    [Theory]
    [InlineData("opaque-root-overlay")]
    [InlineData("opaque-root-aufs")]
    public async Task AnOpaqueMarkOnTheLayerRootIsNotExported(string layer)
    {
        // overlayfs ignores it on the upper root and moby never writes one there; a top-level marker would make an
        // extractor delete every parent layer's content.
        var archive = await _store.ExportToFileAsync(layer);

        Assert.Equal(ExpectedNames, await GnuTar.ListNamesAsync(archive));
    }

    [Fact]
    public async Task OnlyACharacterDeviceZeroZeroIsAWhiteout()
    {
        // overlayfs deletes with 0:0 alone; a device with only one number zero (5:0 is /dev/tty) is a real device.
        _store.AddLayer("devices")
            .Directory("dev")
            .OverlayWhiteout("dev/gone")
            .CharacterDevice("dev/major-zero", 0, 5)
            .CharacterDevice("dev/minor-zero", 5, 0);

        var members = await PythonTarfile.ListAsync(await _store.ExportToFileAsync("devices"));

        Assert.Equal(
            [("dev", '5', 0L, 0L), ("dev/.wh.gone", '0', 0L, 0L), ("dev/major-zero", '3', 0L, 5L), ("dev/minor-zero", '3', 5L, 0L)],
            members.Select(m => (m.Name, m.Type, m.DevMajor, m.DevMinor)));
    }

    [Fact]
    public async Task BothOnDiskFormsExportToIdenticalBytes()
    {
        var overlay = await _store.ExportAsync("overlay");
        var aufs = await _store.ExportAsync("aufs");

        Assert.Equal(Convert.ToHexString(SHA256.HashData(overlay)), Convert.ToHexString(SHA256.HashData(aufs)));
    }

    [Fact]
    public async Task OpaqueXattrsNeverReachTheArchive()
    {
        var archive = await _store.ExportAsync("overlay");

        Assert.Equal(-1, archive.AsSpan().IndexOf("overlay"u8));
        Assert.All(DotNetTar.List(archive), m => Assert.DoesNotContain(m.PaxRecords.Keys, k => k.Contains("overlay", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AufsMetadataIsNotExported()
    {
        var archive = await _store.ExportAsync("aufs");

        Assert.Equal(-1, archive.AsSpan().IndexOf(".wh..wh.plnk"u8));
        Assert.Equal(-1, archive.AsSpan().IndexOf(".wh..wh.aufs"u8));
        Assert.Equal(-1, archive.AsSpan().IndexOf(Encoding.UTF8.GetBytes("hard-link bookkeeping")));
    }

    // Overlay upper-dir form: character devices 0:0 and opaque xattrs, in both xattr namespaces.
    private static void BuildOverlayForm(LayerTree tree)
    {
        BuildCommon(tree);
        tree.OverlayWhiteout("removed-dir")
            .OverlayWhiteout("etc/passwd").Owner("etc/passwd", 1000, 1000).Mode("etc/passwd", "600")
            .OverlayWhiteout("etc/shadow")
            .Xattr("opt", "user.overlay.opaque", "y")
            .OverlayWhiteout("opt/app/old")
            .Xattr("var/cache", "trusted.overlay.opaque", "y")
            .OverlayWhiteout("var/cache/-old")
            .SetAllTimes(Mtime, 123_456_789);
    }

    // aufs form: literal .wh. files, plus aufs bookkeeping that must be left out.
    private static void BuildAufsForm(LayerTree tree)
    {
        BuildCommon(tree);
        tree.File(".wh.removed-dir", "")
            .File("etc/.wh.passwd", "ignored content").Owner("etc/.wh.passwd", 1001, 1002)
            .File("etc/.wh.shadow", "")
            .File("opt/.wh..wh..opq", "")
            .File("opt/app/.wh.old", "")
            .File("var/cache/.wh..wh..opq", "")
            .File("var/cache/.wh.-old", "")
            .Directory(".wh..wh.plnk")
            .File(".wh..wh.plnk/12.34", "hard-link bookkeeping")
            .File(".wh..wh.aufs", "")
            .SetAllTimes(Mtime, 987_654_321);
    }

    private static void BuildCommon(LayerTree tree) =>
        tree.Directory("etc")
            .File("etc/+plus", "plus\n")
            .File("etc/hostname", "box\n")
            .Directory("opt")
            .Directory("opt/app")
            .File("opt/app/keep", "keep\n", "755")
            .Directory("var")
            .Directory("var/cache")
            .File("var/cache/new", "new\n");
}
