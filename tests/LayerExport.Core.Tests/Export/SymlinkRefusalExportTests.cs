using System.Text;
using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>
/// Symlinks never lead an export out of the store: a symlinked layer directory, layer.json or diff/ is refused,
/// and a symlink inside diff/ is exported as a link without its target being read.
/// </summary>
public sealed class SymlinkRefusalExportTests : IDisposable
{
    private readonly TestLayerStore _store = new();
    private readonly string _outside;
    private readonly string _secret = "SECRET-" + Guid.NewGuid().ToString("N");

    public SymlinkRefusalExportTests()
    {
        // A complete layer outside the store, whose content must never be exported.
        _outside = _store.Outputs.Combine("outside");
        Directory.CreateDirectory(Path.Combine(_outside, "diff"));
        File.WriteAllText(Path.Combine(_outside, "layer.json"), "{}");
        File.WriteAllText(Path.Combine(_outside, "diff", "secret.txt"), _secret);
        File.WriteAllText(Path.Combine(_outside, "secret.txt"), _secret);
    }

    public void Dispose() => _store.Dispose();

    [Fact]
    public void SymlinkedLayerDirectoryIsRefused()
    {
        File.CreateSymbolicLink(Path.Combine(_store.Root, "linked"), _outside);

        Assert.Throws<LayerRefusedException>(() => Prepare("linked"));
    }

    [Fact]
    public void SymlinkedLayerJsonIsRefused()
    {
        var layer = Path.GetDirectoryName(_store.AddLayer("layer").Root)!;
        File.Delete(Path.Combine(layer, "layer.json"));
        File.CreateSymbolicLink(Path.Combine(layer, "layer.json"), Path.Combine(_outside, "layer.json"));

        Assert.Throws<LayerRefusedException>(() => Prepare("layer"));
    }

    [Fact]
    public void SymlinkedDiffIsRefused()
    {
        var layer = Path.GetDirectoryName(_store.AddLayer("layer").Root)!;
        Directory.Delete(Path.Combine(layer, "diff"));
        File.CreateSymbolicLink(Path.Combine(layer, "diff"), Path.Combine(_outside, "diff"));

        Assert.Throws<LayerRefusedException>(() => Prepare("layer"));
    }

    [Fact]
    public async Task SymlinksInsideDiffAreExportedWithoutReadingTheirTargets()
    {
        var tree = _store.AddLayer("layer");
        var secretFile = Path.Combine(_outside, "secret.txt");
        var relative = Path.GetRelativePath(tree.Root, secretFile);
        tree.File("inside.txt", "inside\n")
            .Symlink("to-file", secretFile)
            .Symlink("to-dir", Path.Combine(_outside, "diff"))
            .Symlink("relative", relative);

        var archive = await _store.ExportAsync("layer");

        Assert.Equal(-1, archive.AsSpan().IndexOf(Encoding.UTF8.GetBytes(_secret)));
        Assert.Equal(
            [("inside.txt", '0', ""), ("relative", '2', relative), ("to-dir", '2', Path.Combine(_outside, "diff")), ("to-file", '2', secretFile)],
            DotNetTar.List(archive).Select(m => (m.Name, m.Type, m.LinkName)));
    }

    private void Prepare(string id)
    {
        using var store = new NativeLayerStore(_store.Root);
        using var export = new LayerExporter(store).Prepare(id, []);
    }
}
