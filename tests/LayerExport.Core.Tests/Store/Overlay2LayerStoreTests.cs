using System.IO.Pipelines;
using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Store;

/// <summary>
/// Docker's overlay2 graph-driver directory laid out by hand the way Docker does: <c>&lt;id&gt;/diff</c>,
/// <c>link</c> (a 26-character short name), <c>lower</c> (<c>l/&lt;short&gt;</c> nearest first) and
/// <c>l/&lt;short&gt;</c> symlinks to <c>../&lt;id&gt;/diff</c>; deletions in overlay form.
/// </summary>
public sealed class Overlay2LayerStoreTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly string _root;

    public Overlay2LayerStoreTests() => _root = Directory.CreateDirectory(_directory.Combine("overlay2")).FullName;

    [Fact]
    public void LayersAreListedWithTheirParentAndDescribedWithTheWholeChain()
    {
        BuildThreeLayers();
        using var store = new Overlay2LayerStore(_root);

        var listed = store.List();
        var top = store.Describe(LayerId.Parse(Id("top")));
        var base_ = store.Describe(LayerId.Parse(Id("base")));

        Assert.Equal(
            new[] { (Id("base"), (string?)null), (Id("mid"), Id("base")), (Id("top"), Id("mid")) }.OrderBy(l => l.Item1, StringComparer.Ordinal),
            listed.Select(l => (l.Id, l.Parent)));
        Assert.All(listed, l => Assert.Null(l.Problem));
        Assert.Equal([Id("mid"), Id("base")], top.Chain);
        Assert.Equal("overlay2", top.Layout);
        Assert.Empty(base_.Chain);
    }

    [Fact]
    public async Task TheExportCarriesTheFilesAndTheOverlayDeletionsAsWhiteouts()
    {
        BuildThreeLayers();
        using var store = new Overlay2LayerStore(_root);

        var tarPath = _directory.Combine("top.tar");
        await File.WriteAllBytesAsync(tarPath, await ExportAsync(store, Id("top"), [Id("mid"), Id("base")]));
        var names = await GnuTar.ListNamesAsync(tarPath);

        Assert.Equal([".wh.gone.txt", "etc/", "etc/.wh..wh..opq", "etc/fresh.conf", "top.txt"], names);
    }

    [Fact]
    public void AnLSymlinkLeadingOutOfTheStoreIsNeverFollowed()
    {
        BuildThreeLayers();
        // A decoy outside the store that looks like a layer of its own; l/<mid's short name> now points at it.
        var decoy = Directory.CreateDirectory(_directory.Combine($"decoy/{Id("decoy")}/diff")).FullName;
        File.WriteAllText(Path.Combine(decoy, "..", "link"), ShortName("mid"));
        File.WriteAllText(Path.Combine(decoy, "..", "lower"), "l/" + ShortName("nowhere"));
        var link = Path.Combine(_root, "l", ShortName("mid"));
        File.Delete(link);
        File.CreateSymbolicLink(link, decoy);
        using var store = new Overlay2LayerStore(_root);

        var top = store.Describe(LayerId.Parse(Id("top")));

        Assert.Equal([Id("mid"), Id("base")], top.Chain);
        Assert.DoesNotContain(store.List(), l => l.Id == Id("decoy"));
    }

    [Fact]
    public void ALowerNamingAnUnknownShortNameIsAStoreError()
    {
        BuildThreeLayers();
        AddLayer("stray", lower: ["nowhere", "base"]);
        using var store = new Overlay2LayerStore(_root);

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse(Id("stray"))));

        Assert.Contains(ShortName("nowhere"), error.Message, StringComparison.Ordinal);
        Assert.Contains(ShortName("nowhere"), store.List().Single(l => l.Id == Id("stray")).Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void AShortNameClaimedByTwoLayersIsAStoreErrorNotEitherOfThem()
    {
        BuildThreeLayers();
        string[] impostors = ["impostor", "second", "third", "fourth"];
        foreach (var name in impostors)
        {
            var impostor = Path.Combine(_root, Id(name));
            Directory.CreateDirectory(Path.Combine(impostor, "diff"));
            File.WriteAllText(Path.Combine(impostor, "link"), ShortName("base"));
        }

        using var store = new Overlay2LayerStore(_root);

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse(Id("mid"))));

        var owners = impostors.Append("base").Select(Id).Order(StringComparer.Ordinal);
        Assert.Equal($"Layer '{Id("mid")}': its parent l/{ShortName("base")} is the link of more than one layer ({string.Join(", ", owners)}).", error.Message);
        Assert.Equal(error.Message, store.List().Single(l => l.Id == Id("mid")).Problem);
    }

    [Fact]
    public void AShortNameClaimedByALayerAddedAfterItResolvedIsAStoreErrorToo()
    {
        // The short names are cached once resolved; a layer directory added since must not leave the first owner standing.
        BuildThreeLayers();
        using var store = new Overlay2LayerStore(_root);
        Assert.Equal([Id("base")], store.Describe(LayerId.Parse(Id("mid"))).Chain);
        var impostor = Path.Combine(_root, Id("impostor"));
        Directory.CreateDirectory(Path.Combine(impostor, "diff"));
        File.WriteAllText(Path.Combine(impostor, "link"), ShortName("base"));

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse(Id("mid"))));

        var owners = new[] { Id("base"), Id("impostor") }.Order(StringComparer.Ordinal);
        Assert.Equal($"Layer '{Id("mid")}': its parent l/{ShortName("base")} is the link of more than one layer ({string.Join(", ", owners)}).", error.Message);
    }

    [Fact]
    public void AShortNameWhoseLayerWasRemovedAndGivenToAnotherNamesTheOther()
    {
        BuildThreeLayers();
        using var store = new Overlay2LayerStore(_root);
        Assert.Equal([Id("base")], store.Describe(LayerId.Parse(Id("mid"))).Chain);
        Directory.Move(Path.Combine(_root, Id("base")), Path.Combine(_root, Id("moved")));

        Assert.Equal([Id("moved")], store.Describe(LayerId.Parse(Id("mid"))).Chain);
    }

    [Fact]
    public void AShortNameItsOwnerNoLongerHoldsIsLookedForAgainThoughTheRootIsUnchanged()
    {
        // Two link files swapped inside their layers leave the root's status as it was: only the owner's link tells.
        BuildThreeLayers();
        AddLayer("other", lower: []);
        using var store = new Overlay2LayerStore(_root);
        Assert.Equal([Id("base")], store.Describe(LayerId.Parse(Id("mid"))).Chain);
        var rootBefore = new DirectoryInfo(_root).LastWriteTimeUtc;
        File.WriteAllText(Path.Combine(_root, Id("base"), "link"), ShortName("other"));
        File.WriteAllText(Path.Combine(_root, Id("other"), "link"), ShortName("base"));

        var chain = store.Describe(LayerId.Parse(Id("mid"))).Chain;

        Assert.Equal(rootBefore, new DirectoryInfo(_root).LastWriteTimeUtc);
        Assert.Equal([Id("other")], chain);
    }

    [Fact]
    public void ALowerWhoseShortNameIsNotOneIsQuotedOnlyAsFarAsAValidOneGoes()
    {
        BuildThreeLayers();
        var shortName = new string('s', 60_000);
        File.WriteAllText(Path.Combine(_root, Id("mid"), "lower"), "l/" + shortName);
        using var store = new Overlay2LayerStore(_root);

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse(Id("mid"))));

        Assert.DoesNotContain(shortName, error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Length < 400, $"the message is {error.Message.Length} characters long");
    }

    [Theory]
    [InlineData("../{0}")]
    [InlineData("l/")]
    [InlineData("l/{0}/../../etc")]
    [InlineData("{0}")]
    public void ALowerThatIsNotAnLShortNameIsInconsistent(string template)
    {
        // Only "l/<short name>" is resolved, through the link files; anything else is refused by its form.
        BuildThreeLayers();
        var nearest = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, ShortName("base"));
        File.WriteAllText(Path.Combine(_root, Id("mid"), "lower"), nearest);
        using var store = new Overlay2LayerStore(_root);

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse(Id("mid"))));

        Assert.Equal($"Layer '{Id("mid")}': lower names '{nearest}', not l/<short name>.", error.Message);
    }

    [Fact]
    public void ALinkFileEndingInANewlineStillNamesItsLayer()
    {
        // Written by hand or by another tool, a link file may end in a newline; the short name is the same.
        BuildThreeLayers();
        File.WriteAllText(Path.Combine(_root, Id("base"), "link"), ShortName("base") + "\n");
        using var store = new Overlay2LayerStore(_root);

        Assert.Equal([Id("base")], store.Describe(LayerId.Parse(Id("mid"))).Chain);
    }

    [Fact]
    public void ADirectoryWithoutALinkFileIsNotALayer()
    {
        BuildThreeLayers();
        Directory.CreateDirectory(Path.Combine(_root, Id("nolink"), "diff"));
        using var store = new Overlay2LayerStore(_root);

        var listed = store.List();

        Assert.Equal(3, listed.Count);
        Assert.DoesNotContain(listed, l => l.Id == Id("nolink") || l.Id == "l");
        Assert.Throws<LayerNotFoundException>(() => store.Describe(LayerId.Parse(Id("nolink"))));
    }

    [Fact]
    public void ABrokenUnrelatedLayerDoesNotStopParentsFromResolving()
    {
        BuildThreeLayers();
        var broken = Path.Combine(_root, Id("broken"));
        Directory.CreateDirectory(Path.Combine(broken, "diff"));
        File.CreateSymbolicLink(Path.Combine(broken, "link"), Path.Combine(_root, Id("base"), "link"));
        using var store = new Overlay2LayerStore(_root);

        var top = store.Describe(LayerId.Parse(Id("top")));
        var refused = Assert.Throws<LayerRefusedException>(() => store.Describe(LayerId.Parse(Id("broken"))));

        Assert.Equal([Id("mid"), Id("base")], top.Chain);
        Assert.Contains("link is a symbolic link", refused.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _directory.Dispose();

    // base <- mid <- top; top deletes base's gone.txt (char device 0:0) and replaces etc/ (opaque).
    private void BuildThreeLayers()
    {
        var baseDiff = AddLayer("base", lower: []);
        Directory.CreateDirectory(Path.Combine(baseDiff, "etc"));
        File.WriteAllText(Path.Combine(baseDiff, "etc", "old.conf"), "old\n");
        File.WriteAllText(Path.Combine(baseDiff, "gone.txt"), "to be deleted\n");

        var midDiff = AddLayer("mid", lower: ["base"]);
        File.WriteAllText(Path.Combine(midDiff, "mid.txt"), "mid\n");

        var topDiff = AddLayer("top", lower: ["mid", "base"]);
        Posix.MakeNode(Path.Combine(topDiff, "gone.txt"), Posix.CharacterDeviceType, 0, 0);
        Directory.CreateDirectory(Path.Combine(topDiff, "etc"));
        Posix.SetXattr(Path.Combine(topDiff, "etc"), "trusted.overlay.opaque", "y"u8);
        File.WriteAllText(Path.Combine(topDiff, "etc", "fresh.conf"), "fresh\n");
        File.WriteAllText(Path.Combine(topDiff, "top.txt"), "top\n");
    }

    private string AddLayer(string name, IReadOnlyList<string> lower) => Overlay2Directory.AddLayer(_root, name, lower);

    private static string Id(string name) => Overlay2Directory.Id(name);

    private static string ShortName(string name) => Overlay2Directory.ShortName(name);

    private static async Task<byte[]> ExportAsync(Overlay2LayerStore store, string id, IReadOnlyList<string> parents)
    {
        using var export = new LayerExporter(store).Prepare(id, parents);
        var pipe = new Pipe();
        using var output = new MemoryStream();
        var reading = pipe.Reader.CopyToAsync(output);
        await TarExport.WriteAsync(export, pipe.Writer, CancellationToken.None);
        await reading;
        return output.ToArray();
    }
}
