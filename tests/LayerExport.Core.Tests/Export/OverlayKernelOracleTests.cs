using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>
/// The native layout against the kernel: over a random chain of layers in overlayfs's on-disk form, a top layer
/// (written at random in that form, or written by overlayfs itself as a container's changes) is exported, applied by
/// umoci onto the kernel's merged view of the chain, and must give the kernel's merged view with the top layer.
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
        using var store = new TestLayerStore();
        var chain = await Chain.WriteAsync(store, random, forWritableMount: false);
        await using var below = await OverlayMount.MountAsync(chain.Layers, chain.UserXattrs);
        RandomTree.OverlayDiff(store.AddLayer("top", chain.Top).Root, random, chain.XattrNamespace, below.MountPoint).Fill();
        await using var merged = await OverlayMount.MountAsync([Path.Combine(store.Root, "top", "diff"), .. chain.Layers], chain.UserXattrs);

        await AssertAppliedTopLayerGivesAsync(store, below, ObservedTree.Take(merged.MountPoint), $"seed {seed} ({chain})", []);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task TheUpperDirectoryOverlayfsWroteAppliedOnTheMergedChainGivesTheContainersView(int seed)
    {
        var random = new Random(seed);
        using var store = new TestLayerStore();
        var chain = await Chain.WriteAsync(store, random, forWritableMount: true);
        await using var below = await OverlayMount.MountAsync(chain.Layers, chain.UserXattrs);
        var upper = store.AddLayer("top", chain.Top).Root;
        var work = store.Outputs.Combine("work");
        Directory.CreateDirectory(work);

        IReadOnlyList<string> changes;
        ObservedTree container;
        await using (var writable = await OverlayMount.MountAsync(chain.Layers, chain.UserXattrs, (upper, work)))
        {
            changes = TreeMutations.Apply(writable.MountPoint, random, random.Next(3, 16));
            container = ObservedTree.Take(writable.MountPoint);
        }

        await AssertAppliedTopLayerGivesAsync(store, below, container, $"seed {seed} ({chain}, upper directory written by overlayfs)", changes);
    }

    private static async Task AssertAppliedTopLayerGivesAsync(TestLayerStore store, OverlayMount below, ObservedTree expected, string context, IReadOnlyList<string> changes)
    {
        var baseLayer = store.Outputs.Combine("below.tar");
        await GnuTar.CreateAsync(below.MountPoint, ObservedTree.Take(below.MountPoint).Paths, baseLayer);
        var topLayer = await store.ExportToFileAsync("top");
        var applied = await Umoci.UnpackAsync(store.Outputs.Combine("umoci"), baseLayer, topLayer);

        var difference = ObservedTree.FirstDifference(expected, ObservedTree.Take(applied), out var differing);

        Assert.True(
            difference is null,
            $"{context}: the exported top layer applied by umoci differs from the kernel's merged view at {differing} paths; "
            + $"the first is {difference}\n"
            + (changes.Count == 0 ? "" : $"the changes made through the writable mount:\n  {string.Join("\n  ", changes)}\n")
            + $"the exported top layer:\n{string.Join('\n', (await GnuTar.ListVerboseAsync(topLayer)).Take(80))}");
    }

    /// <summary>One to three random layers in overlayfs's form, their marks in one xattr namespace.</summary>
    private sealed record Chain(IReadOnlyList<string> Layers, string Top, string XattrNamespace)
    {
        public bool UserXattrs => XattrNamespace == "user";

        /// <summary>
        /// Writes the layers, each over the merged view of those under it when <paramref name="forWritableMount"/>
        /// (see <see cref="RandomTree.OverlayDiff"/>); <see cref="Layers"/> are their diff directories, the topmost first.
        /// </summary>
        public static async Task<Chain> WriteAsync(TestLayerStore store, Random random, bool forWritableMount)
        {
            var xattrNamespace = random.Next(2) == 0 ? "trusted" : "user";
            var layers = new List<string>();
            string? parent = null;
            for (var depth = random.Next(1, 4); depth > 0; depth--)
            {
                var id = $"layer{layers.Count}";
                var diff = store.AddLayer(id, parent).Root;
                if (forWritableMount && layers.Count > 0)
                {
                    await using var below = await OverlayMount.MountAsync(layers, xattrNamespace == "user");
                    RandomTree.OverlayDiff(diff, random, xattrNamespace, below.MountPoint, forWritableMount).Fill();
                }
                else
                {
                    RandomTree.OverlayDiff(diff, random, xattrNamespace, forWritableMount: forWritableMount).Fill();
                }

                layers.Insert(0, diff);
                parent = id;
            }

            return new Chain(layers, parent!, xattrNamespace);
        }

        public override string ToString() => $"{Layers.Count} lower layers, marks in {XattrNamespace}.overlay.*";
    }
}
