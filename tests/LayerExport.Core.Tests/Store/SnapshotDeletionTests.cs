using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Store;

/// <summary>A name only the parent's tree holds becomes a whiteout, wherever it sorts; one that cannot travel as a whiteout fails the export.</summary>
public sealed class SnapshotDeletionTests : IDisposable
{
    private readonly TestSnapshotStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task NamesDeletedAfterTheChildsLastNameAreWhiteouts()
    {
        // The two listings are merged; here the child's runs out first, in the root and in a directory.
        _store.AddLayer("base").File("a", "kept").File("y", "deleted").File("z", "deleted")
            .File("dir/a", "kept").File("dir/z", "deleted").SetAllTimes(1_700_000_000, 500);
        var child = await _store.CopyLayerAsync("base", "child");
        File.Delete(child.PathOf("y"));
        File.Delete(child.PathOf("z"));
        File.Delete(child.PathOf("dir/z"));
        child.SetAllTimes(1_700_000_000, 500);

        var names = await GnuTar.ListNamesAsync(await _store.ExportToFileAsync("child"));

        Assert.Equal([".wh.y", ".wh.z", "dir/.wh.z"], names);
    }

    [Fact]
    public async Task ADeletedNameThatLooksLikeAWhiteoutFailsTheExportNamingTheLayerRoot()
    {
        // Its whiteout would be ".wh..wh.x": extractors would take it for another deletion.
        _store.AddLayer("base").File(".wh.x", "a name only a full tree can hold").File("a", "kept");
        File.Delete((await _store.CopyLayerAsync("base", "child")).PathOf(".wh.x"));

        var failure = await Assert.ThrowsAsync<LayerExportException>(() => _store.ExportAsync("child"));

        Assert.Equal("(layer root)", failure.Path);
        Assert.Contains(".wh.", failure.Reason, StringComparison.Ordinal);
    }
}
