using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Reader;

/// <summary>
/// Layer walks over directories nested far deeper than the walk keeps open: the same entries as a walk holding every
/// level open would give, a bounded number of descriptors, and a directory moved away while closed refused.
/// </summary>
public sealed class DeepTreeWalkTests : IDisposable
{
    private const int Depth = 100;

    private readonly TempDirectory _diff = new();
    private readonly TempDirectory _parent = new();

    public void Dispose()
    {
        _diff.Dispose();
        _parent.Dispose();
    }

    [Fact]
    public void ADeepLayerGivesEveryEntryInOrderWithABoundedNumberOfOpenDirectories()
    {
        Nested(new LayerTree(_diff.Path), "d", Depth, withFiles: true);
        using var diff = FileDescriptor.OpenDirectory(_diff.Path);
        using var walk = new OverlayDiffReader(diff, openContent: false, CancellationToken.None);

        var (names, mostOpen) = ReadAll(walk, _diff.Path);

        Assert.Equal(ExpectedNames(Depth), names);
        // Every level open would be 100 descriptors besides the root's.
        Assert.InRange(mostOpen, DirectoryWalk<OverlayDiffReader.DiffFrame, DirectoryEntry>.OpenFramesAtMost, DirectoryWalk<OverlayDiffReader.DiffFrame, DirectoryEntry>.OpenFramesAtMost + 1);
        Assert.Equal([_diff.Path], OpenFileDescriptors.Under(_diff.Path));
    }

    // Moved with the walk below it, the directory the walk returns to would be another: read in its place, its other
    // children would come from wherever it went.
    [Fact]
    public void ADirectoryMovedAwayFromUnderAClosedOneFailsTheWalkNamingTheClosedOne()
    {
        Nested(new LayerTree(_diff.Path), "d", Depth, withFiles: true);
        using var diff = FileDescriptor.OpenDirectory(_diff.Path);
        var walk = new OverlayDiffReader(diff, openContent: false, CancellationToken.None);
        while (walk.TryRead(out var entry) && entry.DisplayPath.TrimEnd('/').Split('/').Length < Depth)
        {
            entry.Dispose();
        }

        Directory.Move(_diff.Combine(Chain("d", 11)), _diff.Combine("moved"));
        var failure = Assert.Throws<LayerExportException>(() => ReadAll(walk, _diff.Path));
        walk.Dispose();

        Assert.Equal(Chain("d", 10) + "/", failure.Path);
        Assert.Equal("directory was moved while being read", failure.Reason);
        Assert.Equal([_diff.Path], OpenFileDescriptors.Under(_diff.Path));
    }

    // A diff of two full trees holds two directories a level, and keeps the parent tree's open where the layer's
    // next level has no counterpart to open it through.
    [Fact]
    public void ADeepDiffOfTwoTreesGivesItsEntriesWithABoundedNumberOfOpenDirectories()
    {
        Nested(new LayerTree(_parent.Path), "d", Depth, withFiles: true).SetAllTimes(1_000);
        var tree = Nested(new LayerTree(_diff.Path), "d", Depth, withFiles: true)
            .File(Chain("d", Depth) + "/f", "changed\n");
        Nested(tree, Chain("d", 20) + "/n", Depth, withFiles: false).SetAllTimes(1_000);
        using var layer = FileDescriptor.OpenDirectory(_diff.Path);
        using var parent = FileDescriptor.OpenDirectory(_parent.Path);
        using var walk = new TreeDiffReader(layer, parent, openContent: false, CancellationToken.None);

        var (names, mostOpen) = ReadAll(walk, _diff.Path, _parent.Path);

        List<string> expected = [Chain("d", Depth) + "/f", .. Enumerable.Range(1, Depth).Select(level => Chain("d", 20) + "/" + Chain("n", level))];
        Assert.Equal(expected, names);
        Assert.InRange(mostOpen, DirectoryWalk<TreeDiffReader.PairFrame, (byte[], bool)>.OpenFramesAtMost, (2 * DirectoryWalk<TreeDiffReader.PairFrame, (byte[], bool)>.OpenFramesAtMost) + 1);
    }

    // "d/d/.../d", the name repeated.
    private static string Chain(string name, int levels) => string.Join('/', Enumerable.Repeat(name, levels));

    // Directories nested to the depth below the first's parent; with files, each holds a file "f" that sorts after "d".
    private static LayerTree Nested(LayerTree tree, string first, int depth, bool withFiles)
    {
        var name = Path.GetFileName(first);
        var path = first;
        for (var level = 1; level <= depth; level++)
        {
            tree.Directory(path);
            if (withFiles)
            {
                tree.File(path + "/f", "p\n");
            }

            path += "/" + name;
        }

        return tree;
    }

    private static List<string> ExpectedNames(int depth)
    {
        var names = Enumerable.Range(1, depth).Select(level => Chain("d", level)).ToList();
        names.AddRange(Enumerable.Range(1, depth).Reverse().Select(level => Chain("d", level) + "/f"));
        return names;
    }

    // Every entry's path, and the most directories below the roots the walk held open at once.
    private static (List<string> Names, int MostOpen) ReadAll(ILayerEntryReader walk, params string[] roots)
    {
        var names = new List<string>();
        var mostOpen = 0;
        while (walk.TryRead(out var entry))
        {
            names.Add(entry.DisplayPath.TrimEnd('/'));
            entry.Dispose();
            mostOpen = Math.Max(mostOpen, roots.Sum(root => OpenFileDescriptors.Under(root).Count - 1));
        }

        return (names, mostOpen);
    }
}
