using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>GNU tar, extracting an exported layer as root, rebuilds the layer's tree.</summary>
public sealed class GnuTarExtractionTests : IDisposable
{
    private const int SocketType = 0xC000;

    private readonly TestLayerStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task ExtractionReproducesTheTree()
    {
        var layer = SampleLayer.Build(_store.AddLayer("sample"));
        var archive = await _store.ExportToFileAsync("sample");
        var destination = _store.Outputs.Combine("extracted");

        await GnuTar.ExtractAsync(archive, destination);

        // Types, modes, owners, sizes, content, link targets, device numbers, mtimes, xattrs, hard-link groups.
        var expected = TreeSnapshot.Take(layer.Root, (path, status) => !SampleLayer.IsWhiteoutOnDisk(path, status) && status.Type != SocketType);
        var actual = TreeSnapshot.Take(destination, (path, _) => !Path.GetFileName(path).StartsWith(".wh.", StringComparison.Ordinal));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task ExtractionTurnsEachDeletionIntoAnEmptyMarkerFile()
    {
        SampleLayer.Build(_store.AddLayer("sample"));
        var archive = await _store.ExportToFileAsync("sample");
        var destination = _store.Outputs.Combine("extracted");

        await GnuTar.ExtractAsync(archive, destination);

        var markers = TreeWalk.RelativePaths(destination)
            .Where(p => Path.GetFileName(p).StartsWith(".wh.", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Equal([".wh.gone", "data/.wh.removed", "opaque/.wh..wh..opq"], markers);
        foreach (var marker in markers)
        {
            var status = Posix.Stat(Path.Combine(destination, marker));
            Assert.Equal((0x8000, 0, 0L, 0u, 0u), (status.Type, status.Permissions, status.Size, status.Uid, status.Gid));
        }

        Assert.False(Path.Exists(Path.Combine(destination, "dev/socket")));
    }
}
