using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Store;

/// <summary>A snapshot export closes every directory it opened in either tree, those both trees hold and those only the child holds.</summary>
[Collection(SerialTests.Name)]
public sealed class SnapshotDescriptorTests : IDisposable
{
    private readonly TestSnapshotStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task AFinishedExportLeavesNothingOfEitherTreeOpen()
    {
        _store.AddLayer("base").File("shared/deeper/file", "base").SetAllTimes(1_700_000_000, 500);
        var child = await _store.CopyLayerAsync("base", "child");
        child.File("shared/deeper/file", "changed").File("added/deeper/file", "new");

        var names = await GnuTar.ListNamesAsync(await _store.ExportToFileAsync("child"));

        // The walk went into both copies of "shared" and "shared/deeper"; their own metadata did not change.
        Assert.Equal(["added/", "added/deeper/", "added/deeper/file", "shared/deeper/file"], names);
        Assert.Empty(OpenFileDescriptors.Under(_store.Root));
    }
}
