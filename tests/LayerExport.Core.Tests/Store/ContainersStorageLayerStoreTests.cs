using System.IO.Pipelines;
using System.Security.Cryptography;
using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Store;

/// <summary>A containers/storage root made by Buildah (vfs driver): three committed images and their working containers.</summary>
public sealed class ContainersStorageLayerStoreTests : IAsyncLifetime
{
    private BuildahStore _buildah = null!;

    public async Task InitializeAsync() => _buildah = await BuildahStore.CreateAsync();

    public Task DisposeAsync()
    {
        _buildah.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task EveryCommittedLayerExportsAsTheTarWhoseDigestAndSizeLayersJsonRecords()
    {
        var committed = _buildah.Layers.Where(static l => l.DiffDigest is not null).ToList();
        using var store = new ContainersStorageLayerStore(_buildah.Root);

        Assert.Equal(3, committed.Count);
        foreach (var layer in committed)
        {
            var tar = await TarExport.ToBytesAsync(store, layer.Id, CancellationToken.None);
            Assert.Equal(layer.DiffDigest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar)));
            Assert.Equal(layer.DiffSize, tar.LongLength);
        }
    }

    [Fact]
    public void TheRecordedDiffIdIsKnownBeforeAnyByteIsRead()
    {
        var top = _buildah.Layers.Last(static l => l.DiffDigest is not null);
        using var store = new ContainersStorageLayerStore(_buildah.Root);

        using var export = new LayerExporter(store).Prepare(top.Id, [top.Parent!]);
        var survey = export.Survey(CancellationToken.None);

        Assert.Equal(top.DiffDigest, survey.RecordedDiffId?.Value);
        Assert.Equal(top.DiffSize, survey.TarSize);
    }

    [Fact]
    public void ParentsAndChainsAreTheOnesLayersJsonRecords()
    {
        var recorded = _buildah.Layers.ToDictionary(static l => l.Id);
        using var store = new ContainersStorageLayerStore(_buildah.Root);

        var listed = store.List();

        Assert.Equal(recorded.Keys.Order(StringComparer.Ordinal), listed.Select(static l => l.Id));
        Assert.All(listed, l => Assert.Equal(recorded[l.Id].Parent, l.Parent));
        foreach (var layer in recorded.Values)
        {
            var expected = new List<string>();
            for (var parent = layer.Parent; parent is not null; parent = recorded[parent].Parent)
            {
                expected.Add(parent);
            }

            var description = store.Describe(store.ParseId(layer.Id));
            Assert.Equal(expected, description.Chain);
            Assert.Equal("containers-storage/vfs", description.Layout);
        }

        Assert.Contains(recorded.Values, l => l.Parent is { } p && recorded[p].Parent is not null);
    }

    [Fact]
    public void AContainerLayerWithoutTarSplitIsRefused()
    {
        var containerLayers = _buildah.ContainerLayers;
        using var store = new ContainersStorageLayerStore(_buildah.Root);

        Assert.Equal(3, containerLayers.Count);
        Assert.All(containerLayers, id =>
        {
            Assert.False(File.Exists(Path.Combine(_buildah.Root, "vfs-layers", id + ".tar-split.gz")));
            Assert.Throws<LayerRefusedException>(() => new LayerExporter(store).Prepare(id, []));
        });
    }

    [Fact]
    public async Task AFileAlteredUnderTheSnapshotFailsTheExportNamingIt()
    {
        var baseLayer = _buildah.Layers.Single(static l => l.Parent is null && l.DiffDigest is not null);
        var victim = Path.Combine(_buildah.Root, "vfs", "dir", baseLayer.Id, "big.bin");
        using (var file = new FileStream(victim, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = 1_000_000;
            var original = file.ReadByte();
            file.Position = 1_000_000;
            file.WriteByte((byte)(original ^ 0x01));
        }

        using var store = new ContainersStorageLayerStore(_buildah.Root);

        var failure = await Assert.ThrowsAsync<LayerExportException>(() => TarExport.ToBytesAsync(store, baseLayer.Id, CancellationToken.None));
        Assert.Contains("big.bin", failure.Path, StringComparison.Ordinal);
    }

}
