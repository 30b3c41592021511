using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>GNU tar, extracting an exported layer as root, rebuilds the layer's tree.</summary>
public sealed class GnuTarExtractionTests(SampleArchive sample) : IClassFixture<SampleArchive>
{
    [Fact]
    public async Task ExtractionReproducesTheTree()
    {
        var destination = sample.NewOutputDirectory();

        await GnuTar.ExtractAsync(sample.Path, destination);

        // Types, modes, owners, sizes, content, link targets, device numbers, mtimes, xattrs, hard-link groups.
        var expected = TreeSnapshot.Take(
            sample.Tree.Root, (path, status) => !SampleLayer.IsWhiteoutOnDisk(path, status) && status.Type != Posix.SocketType);
        var actual = TreeSnapshot.Take(
            destination, (path, _) => !Path.GetFileName(path).StartsWith(".wh.", StringComparison.Ordinal));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task ExtractionTurnsEachDeletionIntoAnEmptyMarkerFile()
    {
        var destination = sample.NewOutputDirectory();

        await GnuTar.ExtractAsync(sample.Path, destination);

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

        Assert.DoesNotContain("dev/socket", TreeWalk.RelativePaths(destination));
    }
}
