using System.Security.Cryptography;
using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Store;

/// <summary>The <c>snapshots</c> layout: each layer is a full tree, exported as its difference to the parent's tree.</summary>
public sealed class SnapshotLayerStoreTests : IDisposable
{
    private const long Seconds = 1_700_000_000;

    private readonly TestSnapshotStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task AnUnchangedCopyOfTheParentExportsAnEmptyLayer()
    {
        BuildBase(_store.AddLayer("base"));
        await _store.CopyLayerAsync("base", "copy");

        var tar = await _store.ExportAsync("copy");

        Assert.Equal(new byte[1024], tar);
    }

    [Fact]
    public async Task ABaseLayerExportsItsWholeTree()
    {
        BuildBase(_store.AddLayer("base"));
        var archive = await _store.ExportToFileAsync("base");
        var extracted = _store.Outputs.Combine("extracted");

        await GnuTar.ExtractAsync(archive, extracted);

        Assert.Equal(Snapshot(Path.Combine(_store.Root, "base", "fs")), Snapshot(extracted));
    }

    [Fact]
    public async Task TheDiffHoldsTheChangedEntriesAndExplicitWhiteoutsOnly()
    {
        BuildBase(_store.AddLayer("base"));
        Change(await _store.CopyLayerAsync("base", "child"));

        var names = await GnuTar.ListNamesAsync(await _store.ExportToFileAsync("child"));

        Assert.Equal(
            [
                ".wh.gone", ".wh.gone-file.txt",
                "becomes-dir/", "becomes-dir/child.txt", "becomes-file",
                "data/keep.txt", "data/same-size.txt",
                "deep/a/b/c/file",
                "etc/passwd",
                "links/", "links/a", "links/b", "links/c",
                "new/", "new/dir/", "new/dir/file.txt",
                "owned.txt", "sym",
            ],
            names);
    }

    [Fact]
    public async Task TheDiffAppliedOnTheParentByUmociGivesTheChildTree()
    {
        BuildBase(_store.AddLayer("base"));
        Change(await _store.CopyLayerAsync("base", "child"));
        var baseTar = await _store.ExportToFileAsync("base");
        var childTar = await _store.ExportToFileAsync("child");

        var rootfs = await Umoci.UnpackAsync(_store.Outputs.Combine("umoci"), baseTar, childTar);

        Assert.Equal(Snapshot(Path.Combine(_store.Root, "child", "fs")), Snapshot(rootfs));
    }

    [Fact]
    public async Task TheMeasuredSizeAndFingerprintMatchTheStreamedTar()
    {
        BuildBase(_store.AddLayer("base"));
        Change(await _store.CopyLayerAsync("base", "child"));
        using var store = new SnapshotLayerStore(_store.Root);

        using var export = new LayerExporter(store).Prepare("child", ["base"]);
        var survey = export.Survey(CancellationToken.None);
        var tar = await _store.ExportAsync("child");

        Assert.Equal(tar.LongLength, survey.TarSize);
        Assert.Equal(tar, await _store.ExportAsync("child"));
    }

    [Fact]
    public async Task ANameThatLooksLikeAWhiteoutFailsTheExportNamingIt()
    {
        BuildBase(_store.AddLayer("base"));
        (await _store.CopyLayerAsync("base", "child")).File("data/.wh.trick", "not a deletion");

        var failure = await Assert.ThrowsAsync<LayerExportException>(() => _store.ExportAsync("child"));

        Assert.Equal("data/.wh.trick", failure.Path);
    }

    [Fact]
    public void ParentsComeFromLayerJsonAndAreValidated()
    {
        _store.AddLayer("base");
        _store.AddLayer("mid", "base");
        _store.AddLayer("top", "mid");
        using var store = new SnapshotLayerStore(_store.Root);

        Assert.Equal(["mid", "base"], store.Describe(LayerId.Parse("top")).Chain);
        Assert.Equal("snapshots", store.Describe(LayerId.Parse("top")).Layout);
        Assert.Throws<ParentChainMismatchException>(() => new LayerExporter(store).Prepare("top", ["base"]));
    }

    // Every kind of entry, owners, modes, xattrs and a hard-link pair; times fixed, with nanoseconds.
    private static void BuildBase(LayerTree tree)
    {
        tree.Directory("etc").File("etc/passwd", "root:x:0:0\n")
            .File("bin/tool", "#!/bin/sh\n", "755").Owner("bin/tool", 0, 0).Mode("bin/tool", "4755")
            .File("data/big.bin", RandomNumberGenerator.GetBytes(300_000))
            .File("data/same-size.txt", "aaaa")
            .File("data/keep.txt", "keep").Xattr("data/keep.txt", "user.comment", "original")
            .File("links/a", "linked").HardLink("links/a", "links/b")
            .Symlink("sym", "etc/passwd")
            .Fifo("run/fifo")
            .CharacterDevice("dev/null", 1, 3)
            .File("gone/dir/x.txt", "deleted with its directory")
            .File("gone-file.txt", "deleted")
            .File("becomes-dir", "a file, then a directory")
            .File("becomes-file/inside.txt", "a directory, then a file")
            .File("owned.txt", "owned").Owner("owned.txt", 1000, 1000)
            .File("deep/a/b/c/file", "deep");
        tree.SetAllTimes(Seconds, 500);

        // A whole-second mtime cannot show a rewrite: this file must be compared by content.
        tree.ModificationTime("data/same-size.txt", Seconds);
    }

    private static void Change(LayerTree tree)
    {
        tree.File("new/dir/file.txt", "added");
        Directory.Delete(tree.PathOf("gone"), recursive: true);
        File.Delete(tree.PathOf("gone-file.txt"));
        File.WriteAllText(tree.PathOf("data/same-size.txt"), "bbbb");
        tree.ModificationTime("data/same-size.txt", Seconds);
        tree.Mode("etc/passwd", "600");
        tree.Owner("owned.txt", 2000, 2000);
        tree.Xattr("data/keep.txt", "user.comment", "changed");
        File.Delete(tree.PathOf("becomes-dir"));
        tree.File("becomes-dir/child.txt", "now inside a directory");
        Directory.Delete(tree.PathOf("becomes-file"), recursive: true);
        tree.File("becomes-file", "now a file");
        File.Delete(tree.PathOf("sym"));
        tree.Symlink("sym", "data/keep.txt");
        tree.HardLink("links/a", "links/c");
        File.WriteAllText(tree.PathOf("deep/a/b/c/file"), "deeper content");
    }

    private static IReadOnlyList<string> Snapshot(string root) => TreeSnapshot.Take(root, static (_, _) => true);
}
