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
    public async Task WorkingContainerLayersWithoutTarSplitAreTheirTreesComparedWithTheirParents()
    {
        var parents = _buildah.Layers.ToDictionary(static l => l.Id, static l => l.Parent);
        var containerLayers = _buildah.ContainerLayers;
        using var store = new ContainersStorageLayerStore(_buildah.Root);
        Assert.Equal(3, containerLayers.Count);
        Assert.All(containerLayers, id => Assert.False(File.Exists(Path.Combine(_buildah.Root, "vfs-layers", id + ".tar-split.gz"))));

        // Each container's computed diff, applied by umoci over its parents' recorded tars, is the container's tree.
        foreach (var id in containerLayers)
        {
            var chain = new List<string> { id };
            for (var parent = parents[id]; parent is not null; parent = parents[parent])
            {
                chain.Insert(0, parent);
            }

            var tars = new List<string>();
            foreach (var layer in chain)
            {
                var tar = _buildah.Directory.Combine($"{layer}.tar");
                await File.WriteAllBytesAsync(tar, await TarExport.ToBytesAsync(store, layer, CancellationToken.None));
                tars.Add(tar);
            }

            var rootfs = await Umoci.UnpackAsync(_buildah.Directory.Combine($"umoci-{id}"), [.. tars]);
            Assert.Equal(
                TreeSnapshot.Take(Path.Combine(_buildah.Root, "vfs", "dir", id), static (_, _) => true),
                TreeSnapshot.Take(rootfs, static (_, _) => true));
        }
    }

    [Fact]
    public async Task LayersWhoseRecordsAreGoneAreComputedFromTheTreesAndUmociAppliesThemToTheSameTrees()
    {
        var committed = _buildah.Layers.Where(static l => l.DiffDigest is not null).ToList();
        foreach (var layer in committed.Skip(1))
        {
            File.Delete(Path.Combine(_buildah.Root, "vfs-layers", layer.Id + ".tar-split.gz"));
        }

        using var store = new ContainersStorageLayerStore(_buildah.Root);
        var tars = new List<string>();
        foreach (var layer in committed)
        {
            var tar = _buildah.Directory.Combine($"{layer.Id}.tar");
            await File.WriteAllBytesAsync(tar, await TarExport.ToBytesAsync(store, layer.Id, CancellationToken.None));
            tars.Add(tar);
        }

        var rootfs = await Umoci.UnpackAsync(_buildah.Directory.Combine("umoci"), [.. tars]);

        var expected = TreeSnapshot.Take(Path.Combine(_buildah.Root, "vfs", "dir", committed[^1].Id), static (_, _) => true);
        Assert.Equal(expected, TreeSnapshot.Take(rootfs, static (_, _) => true));
        Assert.Contains(expected, static line => line.StartsWith("new-link.txt ", StringComparison.Ordinal) && line.Contains("links-with=new-link.txt", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ALayerIsFoundByANameLayersJsonGivesIt()
    {
        // Buildah names images, not layers; c/storage's API (e.g. `podman image mount` helpers) can name layers too.
        var top = _buildah.Layers.Last(static l => l.DiffDigest is not null);
        var layersJson = Path.Combine(_buildah.Root, "vfs-layers", "layers.json");
        var document = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(layersJson))!.AsArray();
        document.Single(l => (string?)l!["id"] == top.Id)!["names"] = new System.Text.Json.Nodes.JsonArray("release-layer");
        await File.WriteAllTextAsync(layersJson, document.ToJsonString());
        using var store = new ContainersStorageLayerStore(_buildah.Root);

        var id = store.ParseId("release-layer");
        var tar = await TarExport.ToBytesAsync(store, "release-layer", CancellationToken.None);

        Assert.Equal(top.Id, id.Value);
        Assert.Equal(top.DiffDigest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar)));
        Assert.Throws<LayerNotFoundException>(() => new LayerExporter(store).Prepare("no-such-name", []));
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
