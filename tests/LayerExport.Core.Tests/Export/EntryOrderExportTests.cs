using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>Entries come in pre-order, each directory's names in ordinal byte order, as GNU tar lists them.</summary>
public sealed class EntryOrderExportTests : IDisposable
{
    private readonly TestLayerStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task EntriesArePreOrderWithNamesInByteOrder()
    {
        string[] files = ["a-b", "B", "b", "_", "A", "z", "~", "é", "日本", "Z", "a/b-c", "a/b.txt", "a/b/x", "a/b/X"];
        var tree = _store.AddLayer("order");
        foreach (var file in files)
        {
            tree.File(file, file);
        }

        var archive = await _store.ExportToFileAsync("order");

        // Byte order, not culture order ('é' after '~') nor full-path order ('a/' before 'a-b', 'a/b/' before 'a/b-c').
        string[] expected =
        [
            "A", "B", "Z", "_",
            "a/", "a/b/", "a/b/X", "a/b/x", "a/b-c", "a/b.txt",
            "a-b", "b", "z", "~", "é", "日本",
        ];
        Assert.Equal(expected, await GnuTar.ListNamesAsync(archive));
    }
}
