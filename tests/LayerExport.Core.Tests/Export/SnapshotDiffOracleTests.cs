using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>
/// The snapshots layout against umoci: a random parent tree and a copy of it changed at random; the child's export,
/// applied by umoci onto the parent's tree, must give the child's tree.
/// </summary>
/// <remarks>The parent's tree reaches umoci as a base layer archived by GNU tar, so nothing of ours makes it.</remarks>
public sealed class SnapshotDiffOracleTests
{
    public static TheoryData<int> Seeds => [.. Enumerable.Range(1, 20)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task TheChildsLayerAppliedOnTheParentsTreeGivesTheChildsTree(int seed)
    {
        var random = new Random(seed);
        using var store = new TestSnapshotStore();
        var parent = store.AddLayer("parent");
        RandomTree.Full(parent.Root, random).Fill();
        var child = await store.CopyLayerAsync("parent", "child");
        var mutations = TreeMutations.Apply(child.Root, random, random.Next(3, 16));
        var baseLayer = store.Outputs.Combine("parent.tar");
        await GnuTar.CreateAsync(parent.Root, ObservedTree.Take(parent.Root).Paths, baseLayer);
        var childLayer = await store.ExportToFileAsync("child");
        var applied = await Umoci.UnpackAsync(store.Outputs.Combine("umoci"), baseLayer, childLayer);

        var difference = ObservedTree.FirstDifference(ObservedTree.Take(child.Root), ObservedTree.Take(applied), out var differing);

        Assert.True(
            difference is null,
            $"seed {seed}: the child's exported layer applied by umoci on the parent's tree differs from the child's tree at {differing} paths; "
            + $"the first is {difference}\nthe changes made to the copy of the parent's tree:\n  {string.Join("\n  ", mutations)}\n"
            + $"the exported layer:\n{string.Join('\n', (await GnuTar.ListVerboseAsync(childLayer)).Take(80))}");
    }
}
