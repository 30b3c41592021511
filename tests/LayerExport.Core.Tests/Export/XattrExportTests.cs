using System.Text;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>
/// Capabilities and user attributes travel as raw <c>SCHILY.xattr.</c> records; host and overlay bookkeeping
/// (<c>trusted.*</c>, <c>security.selinux</c>, <c>user.overlay.*</c>, <c>user.containers.*</c>,
/// <c>user.fuseoverlayfs.*</c>) never does.
/// </summary>
public sealed class XattrExportTests : IDisposable
{
    private static readonly Dictionary<string, byte[]> ExportedFileXattrs = new()
    {
        ["security.capability"] = SampleLayer.Capability,
        ["user.binary"] = SampleLayer.BinaryXattr,
        ["user.comment"] = Encoding.UTF8.GetBytes("a comment"),
    };

    private static readonly string[] HiddenXattrs =
    [
        "trusted.secret",
        "trusted.overlay.origin",
        "security.selinux",
        "user.overlay.origin",
        "user.containers.other",
        "user.fuseoverlayfs.origin",
    ];

    private readonly TestLayerStore _store = new();
    private readonly LayerTree _tree;

    public XattrExportTests()
    {
        _tree = _store.AddLayer("xattrs").File("file", "content\n").Directory("dir").File("dir/child", "child\n");
        foreach (var (name, value) in ExportedFileXattrs)
        {
            _tree.Xattr("file", name, value);
        }

        foreach (var name in HiddenXattrs)
        {
            _tree.Xattr("file", name, "hidden").Xattr("dir", name, "hidden");
        }

        // "x" marks a directory that holds xattr whiteouts; only "y" makes it opaque.
        _tree.Xattr("dir", "user.on-directory", "yes").Xattr("dir", "trusted.overlay.opaque", "x");
    }

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task PythonReadsExactlyTheExportedAttributesWithRawValues()
    {
        var members = await PythonTarfile.ListAsync(await _store.ExportToFileAsync("xattrs"));

        var file = Assert.Single(members, m => m.Name == "file");
        Assert.Equal(
            ExportedFileXattrs.Select(x => $"SCHILY.xattr.{x.Key}={Convert.ToHexString(x.Value)}").Order(StringComparer.Ordinal),
            file.Pax.Select(p => $"{p.Key}={Convert.ToHexString(p.Value)}").Order(StringComparer.Ordinal));

        var directory = Assert.Single(members, m => m.Name == "dir");
        Assert.Equal(["SCHILY.xattr.user.on-directory=796573"], directory.Pax.Select(p => $"{p.Key}={Convert.ToHexString(p.Value)}"));
    }

    [Fact]
    public async Task HiddenAttributesAppearNowhereInTheArchive()
    {
        var archive = await _store.ExportAsync("xattrs");

        Assert.Equal(-1, archive.AsSpan().IndexOf("hidden"u8));
        foreach (var name in HiddenXattrs)
        {
            Assert.Equal(-1, archive.AsSpan().IndexOf(Encoding.UTF8.GetBytes(name)));
        }
    }

    [Fact]
    public async Task OpaqueValueOtherThanYDoesNotMakeTheDirectoryOpaque()
    {
        var names = await GnuTar.ListNamesAsync(await _store.ExportToFileAsync("xattrs"));

        Assert.Equal(["dir/", "dir/child", "file"], names);
    }

    [Fact]
    public async Task GnuTarListsTheAttributes()
    {
        var listing = await GnuTar.ListVerboseAsync(await _store.ExportToFileAsync("xattrs"));

        var file = listing.ToList().FindIndex(line => line.EndsWith(" file", StringComparison.Ordinal));
        var attributes = listing.Skip(file + 1).TakeWhile(line => line.StartsWith("  x: ", StringComparison.Ordinal));
        Assert.Equal(["  x: 20 security.capability", "  x: 7 user.binary", "  x: 9 user.comment"], attributes);
    }

    [Fact]
    public async Task GnuTarExtractionRestoresTheAttributes()
    {
        var archive = await _store.ExportToFileAsync("xattrs");
        var destination = _store.Outputs.Combine("extracted");

        await GnuTar.ExtractAsync(archive, destination);

        var dump = await ExternalTool.RunCheckedAsync(
            "getfattr", "--absolute-names", "--dump", "--match=-", "--encoding=hex", Path.Combine(destination, "file"));
        var attributes = dump.StdoutLines.Where(line => line.Contains('=', StringComparison.Ordinal));
        Assert.Equal(
            ExportedFileXattrs.Select(x => $"{x.Key}=0x{Convert.ToHexStringLower(x.Value)}").Order(StringComparer.Ordinal),
            attributes.Order(StringComparer.Ordinal));
    }
}
