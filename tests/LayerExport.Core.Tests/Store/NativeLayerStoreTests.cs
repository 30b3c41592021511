using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Store;

/// <summary>The <c>native</c> layout: its metadata read, and broken, symlinked and inconsistent layers listed with their problem.</summary>
public sealed class NativeLayerStoreTests : IDisposable
{
    private readonly TempDirectory _root = new();

    [Fact]
    public void LayerJsonWithAByteOrderMarkIsRead()
    {
        Layer("base", "{}");
        Layer("child", "\uFEFF{\"parent\": \"base\"}");
        using var store = new NativeLayerStore(_root.Path);

        var description = store.Describe(LayerId.Parse("child"));

        Assert.Equal(["base"], description.Chain);
        Assert.Equal("native", description.Layout);
    }

    [Fact]
    public void ABrokenLayerIsListedWithItsProblemAndTheOthersStillAppear()
    {
        Layer("good", "{}");
        Layer("bad", "{ not json");
        using var store = new NativeLayerStore(_root.Path);

        var layers = store.List();

        Assert.Equal(["bad", "good"], layers.Select(l => l.Id));
        Assert.Contains("layer.json", layers[0].Problem);
        Assert.Null(layers[1].Problem);
    }

    // GET /layers/linked is refused (403); the list says so in its row instead of leaving the name out.
    [Fact]
    public void ASymlinkedLayerIsListedAsRefused()
    {
        Layer("good", "{}");
        Directory.CreateSymbolicLink(System.IO.Path.Combine(_root.Path, "linked"), System.IO.Path.Combine(_root.Path, "good"));
        using var store = new NativeLayerStore(_root.Path);

        var layers = store.List();
        var refused = Assert.Throws<LayerRefusedException>(() => store.Describe(LayerId.Parse("linked")));

        Assert.Equal(["good", "linked"], layers.Select(l => l.Id));
        Assert.Equal([null, "Layer 'linked' is a symbolic link in the store; refused."], layers.Select(l => l.Problem));
        Assert.Equal(layers[1].Problem, refused.Message);
    }

    [Fact]
    public void AMissingParentAndACycleAreStoreErrorsNamingTheLayers()
    {
        Layer("orphan", "{\"parent\": \"gone\"}");
        Layer("stranded", "{\"parent\": \"orphan\"}");
        Layer("a", "{\"parent\": \"b\"}");
        Layer("b", "{\"parent\": \"a\"}");
        using var store = new NativeLayerStore(_root.Path);

        var missing = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse("orphan")));
        var further = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse("stranded")));
        var cycle = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse("a")));

        Assert.Equal("Layer 'orphan' names parent 'gone', which is not in the store.", missing.Message);
        Assert.Equal(missing.Message, further.Message);
        Assert.Equal("The parent chain of layer 'a' loops back to 'a'.", cycle.Message);
    }

    [Fact]
    public void ALayerWithoutADiffDirectoryIsInconsistentAndASymlinkedOneIsRefused()
    {
        Layer("linked", "{}");
        Directory.Delete(System.IO.Path.Combine(_root.Path, "linked", "diff"));
        Directory.CreateSymbolicLink(System.IO.Path.Combine(_root.Path, "linked", "diff"), _root.Path);
        Directory.CreateDirectory(System.IO.Path.Combine(_root.Path, "bare"));
        File.WriteAllText(System.IO.Path.Combine(_root.Path, "bare", "layer.json"), "{}");
        using var store = new NativeLayerStore(_root.Path);

        var refused = Assert.Throws<LayerRefusedException>(() => store.Open(LayerId.Parse("linked")));
        var missing = Assert.Throws<LayerStoreCorruptException>(() => store.Open(LayerId.Parse("bare")));

        Assert.Equal("Layer 'linked': diff/ is a symbolic link or not a directory; refused.", refused.Message);
        Assert.Equal("Layer 'bare' has no diff/ directory.", missing.Message);
    }

    [Fact]
    public void TheListIsInTheOrdinalOrderOfTheIds()
    {
        // Enough names that the directory's own order is very unlikely to be the sorted one by chance.
        var ids = Enumerable.Range(0, 40).Select(static i => $"layer-{(i * 7919) % 1000:D3}-{i}").ToList();
        foreach (var id in ids)
        {
            Layer(id, "{}");
        }

        Layer("Upper", "{}");
        using var store = new NativeLayerStore(_root.Path);

        Assert.Equal([.. ids.Append("Upper").Order(StringComparer.Ordinal)], store.List().Select(static l => l.Id));
    }

    [Fact]
    public void ASymlinkedLayerRemovedAsItIsLookedAtIsNotInTheStore()
    {
        // Its open is refused as a symlink; gone before the second look that tells a symlink from other refusals.
        Directory.CreateDirectory(System.IO.Path.Combine(_root.Path, "elsewhere", "diff"));
        File.CreateSymbolicLink(System.IO.Path.Combine(_root.Path, "linked"), System.IO.Path.Combine(_root.Path, "elsewhere"));
        using var store = new NativeLayerStore(_root.Path);

        var error = Record.Exception(() => SyscallRace.AtStatusOfAName(
            () => store.Describe(LayerId.Parse("linked")),
            name =>
            {
                if (name == "linked")
                {
                    File.Delete(System.IO.Path.Combine(_root.Path, "linked"));
                }
            }));

        Assert.IsType<LayerNotFoundException>(error);
    }

    [Fact]
    public void ADisposedStoreHoldsNoDescriptor()
    {
        Layer("base", "{}");
        var store = new NativeLayerStore(_root.Path);
        store.Open(LayerId.Parse("base")).Dispose();
        var open = OpenFileDescriptors.Under(_root.Path);

        store.Dispose();

        Assert.Equal([_root.Path], open);
        Assert.Empty(OpenFileDescriptors.Under(_root.Path));
    }

    [Fact]
    public void ALayerJsonThatCannotBeOpenedIsThatLayersInconsistencyOnly()
    {
        Layer("good", "{}");
        Layer("child", "{\"parent\": \"sock\"}");
        Directory.CreateDirectory(System.IO.Path.Combine(_root.Path, "sock", "diff"));
        // A socket in its place is looked at, never opened (as a device or a FIFO would not be): no regular file.
        Posix.MakeNode(System.IO.Path.Combine(_root.Path, "sock", "layer.json"), Posix.SocketType, 0, 0);
        using var store = new NativeLayerStore(_root.Path);

        var own = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse("sock")));
        var child = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse("child")));
        var layers = store.List();

        Assert.Equal("Layer 'sock': layer.json is not a regular file of at most 65536 bytes.", own.Message);
        Assert.Equal(own.Message, child.Message);
        Assert.Equal(["child", "good", "sock"], layers.Select(l => l.Id));
        Assert.Equal([null, null, own.Message], layers.Select(l => l.Problem));
    }

    [Fact]
    public void LayerJsonWithBytesAfterTheObjectIsInconsistent()
    {
        Layer("base", "{}");
        Layer("child", "{\"parent\":\"base\"}\0\u00ff garbage{{{");
        using var store = new NativeLayerStore(_root.Path);

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse("child")));

        Assert.Contains("layer.json is not valid JSON", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MalformedLayerJsonIsDescribedByWhereNotByTheParsersInternals()
    {
        Layer("base", "{}");
        Layer("child", "{\n  \"parent\": \"base\",\n  \"x\": }");
        using var store = new NativeLayerStore(_root.Path);

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse("child")));

        Assert.Matches(@"^Layer 'child': layer\.json is not valid JSON \(line 3, byte 8: [^|$]+\)\.$", error.Message);
    }

    // The JSON parses, but its string cannot become .NET text: a lone surrogate escape, a byte that is not UTF-8.
    [Theory]
    [InlineData(new byte[] { (byte)'"', (byte)'\\', (byte)'u', (byte)'d', (byte)'8', (byte)'0', (byte)'0', (byte)'"' })]
    [InlineData(new byte[] { (byte)'"', (byte)'b', 0xFF, (byte)'"' })]
    public void AParentStringThatIsNotTextIsInconsistentNotAnUnhandledError(byte[] parent)
    {
        Layer("base", "{}");
        Directory.CreateDirectory(System.IO.Path.Combine(_root.Path, "child", "diff"));
        File.WriteAllBytes(System.IO.Path.Combine(_root.Path, "child", "layer.json"), [.. "{\"parent\":"u8, .. parent, (byte)'}']);
        using var store = new NativeLayerStore(_root.Path);

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse("child")));
        var layers = store.List();

        Assert.Equal("Layer 'child': layer.json names a parent that is not a layer ID.", error.Message);
        Assert.Equal([null, error.Message], layers.Select(l => l.Problem));
    }

    [Fact]
    public void ARootDeletedWhileOpenMakesTheStoreUnavailable()
    {
        Layer("base", "{}");
        using var store = new NativeLayerStore(_root.Path);
        Directory.Delete(_root.Path, recursive: true);
        Directory.CreateDirectory(_root.Path);

        var error = Assert.Throws<LayerStoreUnavailableException>(store.List);
        var opening = Assert.Throws<LayerStoreUnavailableException>(() => store.Describe(LayerId.Parse("base")));

        Assert.Equal("The layer store cannot be listed: the root directory was deleted; restart the server once the store is back.", error.Message);
        Assert.Equal("The layer store cannot be read: the root directory was deleted; restart the server once the store is back.", opening.Message);
    }

    public void Dispose() => _root.Dispose();

    private void Layer(string id, string json)
    {
        Directory.CreateDirectory(System.IO.Path.Combine(_root.Path, id, "diff"));
        File.WriteAllText(System.IO.Path.Combine(_root.Path, id, "layer.json"), json);
    }
}
