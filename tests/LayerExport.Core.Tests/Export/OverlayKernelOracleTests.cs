using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>
/// The native layout against the kernel: a random chain of layers in overlayfs's on-disk form is mounted read-only
/// with and without its random top layer, and the top layer's export, applied by umoci onto the view without it,
/// must give the kernel's view with it.
/// </summary>
/// <remarks>
/// The view without the top layer reaches umoci as a base layer archived by GNU tar, so nothing of ours makes the
/// expected tree or the tree it is compared with. Mounts make it serial.
/// </remarks>
[Collection(SerialTests.Name)]
public sealed class OverlayKernelOracleTests
{
    public static TheoryData<int> Seeds => [.. Enumerable.Range(1, 20)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task TheTopLayerAppliedOnTheMergedChainGivesTheKernelsMergedView(int seed)
    {
        var random = new Random(seed);
        var xattrNamespace = random.Next(2) == 0 ? "trusted" : "user";
        using var store = new TestLayerStore();
        var lowerLayers = new List<string>();
        string? parent = null;
        for (var depth = random.Next(1, 4); depth > 0; depth--)
        {
            var id = $"layer{lowerLayers.Count}";
            RandomTree.OverlayDiff(store.AddLayer(id, parent).Root, random, xattrNamespace).Fill();
            lowerLayers.Insert(0, Path.Combine(store.Root, id, "diff"));
            parent = id;
        }

        var userXattrs = xattrNamespace == "user";
        await using var below = await OverlayMount.MountAsync(lowerLayers, userXattrs);
        RandomTree.OverlayDiff(store.AddLayer("top", parent).Root, random, xattrNamespace, below.MountPoint).Fill();
        await using var merged = await OverlayMount.MountAsync([Path.Combine(store.Root, "top", "diff"), .. lowerLayers], userXattrs);
        var baseLayer = store.Outputs.Combine("below.tar");
        await GnuTar.CreateAsync(below.MountPoint, ObservedTree.Take(below.MountPoint).Paths, baseLayer);
        var topLayer = await store.ExportToFileAsync("top");
        var applied = await Umoci.UnpackAsync(store.Outputs.Combine("umoci"), baseLayer, topLayer);

        var difference = ObservedTree.FirstDifference(ObservedTree.Take(merged.MountPoint), ObservedTree.Take(applied), out var differing);

        Assert.True(
            difference is null,
            $"seed {seed} ({lowerLayers.Count} lower layers, marks in {xattrNamespace}.overlay.*): the exported top layer applied by umoci "
            + $"differs from the kernel's merged view at {differing} paths; the first is {difference}\n"
            + $"the exported top layer:\n{string.Join('\n', (await GnuTar.ListVerboseAsync(topLayer)).Take(80))}");
    }
}
