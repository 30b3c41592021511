using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;
using static LayerExport.Core.Tests.Windows.WindowsTestStore;

namespace LayerExport.Core.Tests.Windows;

/// <summary>The <c>windows</c> layout lists, describes and validates layers from their <c>layerchain.json</c>, nearest parent first.</summary>
public sealed class WindowsLayerStoreTests : IDisposable
{
    private static readonly long Time = Ticks(1_650_000_000);

    private readonly WindowsTestStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void TheFactoryOpensTheWindowsLayoutByName()
    {
        using var store = (IDisposable)LayerStoreFactory.Create(new LayerStoreOptions { Root = _store.Root, Layout = "windows" });

        Assert.Equal(LayerStoreLayout.Windows, Assert.IsType<WindowsLayerStore>(store).Layout);
        Assert.Contains("windows", LayerStoreLayouts.Names, StringComparison.Ordinal);
    }

    [Fact]
    public void ParentsAreTheLastPathElementsOfLayerchainNearestFirst()
    {
        AddChain();
        using var store = _store.Open();

        var description = store.Describe(LayerId.Parse("top"));

        Assert.Equal(["middle", "base0"], description.Chain);
        Assert.Equal("windows", description.Layout);
        Assert.Equal(
            [("base0", null), ("middle", "base0"), ("top", "middle")],
            store.List().Select(static l => (l.Id, l.Parent)));
    }

    [Fact]
    public void DirectoriesWithoutFilesAreNotLayersAndBrokenChainsAreListedWithTheirProblem()
    {
        AddChain();
        Directory.CreateDirectory(_store.Path("scratch"));
        _store.AddLayer("broken");
        _store.Write("broken/layerchain.json", "{\"not\": \"an array\"}"u8.ToArray());
        using var store = _store.Open();

        var layers = store.List();

        Assert.DoesNotContain(layers, static l => l.Id == "scratch");
        Assert.Equal("Layer 'broken': layerchain.json is not a JSON array.", Assert.Single(layers, static l => l.Id == "broken").Problem);
        Assert.Throws<LayerNotFoundException>(() => store.Describe(LayerId.Parse("scratch")));
    }

    [Theory]
    [InlineData("[\"base0\"] this is not JSON {")]
    [InlineData("[\"base0\"][\"other\"]")]
    [InlineData("null,")]
    public void BytesAfterTheJsonValueOfLayerchainMakeTheChainCorrupt(string content)
    {
        AddChain();
        _store.AddLayer("trailing");
        _store.Write("trailing/layerchain.json", System.Text.Encoding.UTF8.GetBytes(content));
        using var store = _store.Open();

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse("trailing")));

        Assert.StartsWith("Layer 'trailing': layerchain.json is not valid JSON (", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WhiteSpaceAfterTheJsonValueOfLayerchainIsAllowed()
    {
        AddChain();
        _store.AddLayer("spaced");
        _store.Write("spaced/layerchain.json", "[\"base0\"] \r\n"u8.ToArray());
        using var store = _store.Open();

        Assert.Equal(["base0"], store.Describe(LayerId.Parse("spaced")).Chain);
    }

    // Latin-1 keeps U+00FF as the single byte 0xFF, which is not UTF-8.
    [Theory]
    [InlineData("[\"C:\\\\layers\\\\\\ud800\"]")]
    [InlineData("[\"C:\\\\layers\\\\base\u00ff0\"]")]
    public void AStringOfLayerchainThatIsNotTextMakesTheChainCorruptAndIsListedWithItsProblem(string content)
    {
        AddChain();
        _store.AddLayer("garbled");
        _store.Write("garbled/layerchain.json", System.Text.Encoding.Latin1.GetBytes(content));
        using var store = _store.Open();

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse("garbled")));
        var layers = store.List();

        const string Expected = "Layer 'garbled': layerchain.json element 0 is not valid text (a lone surrogate escape, or bytes that are not UTF-8).";
        Assert.Equal(Expected, error.Message);
        Assert.Equal(Expected, Assert.Single(layers, static l => l.Id == "garbled").Problem);
        Assert.Contains(layers, static l => l.Id == "top" && l.Parent == "middle");
    }

    [Fact]
    public void AParentOutsideTheStoreMakesTheChainCorrupt()
    {
        _store.AddLayer("orphan", @"C:\layers\gone", @"C:\layers\base0");
        using var store = _store.Open();

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse("orphan")));

        Assert.Equal("Layer 'orphan' names parent 'gone', which is not in the store.", error.Message);
    }

    [Fact]
    public void AParentThatRecordsAnotherChainMakesTheChainCorrupt()
    {
        AddChain();
        _store.AddLayer("liar", "middle", "somewhere-else");
        using var store = _store.Open();

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse("liar")));

        Assert.Equal("Layer 'liar' records [somewhere-else] below 'middle', but 'middle' records [base0].", error.Message);
    }

    [Fact]
    public void AChainThatNamesTheLayerItselfIsCorrupt()
    {
        _store.AddLayer("loop", "loop");
        using var store = _store.Open();

        Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse("loop")));
    }

    [Fact]
    public void TheCallersParentsMustStartTheRecordedChain()
    {
        AddChain();
        using var store = _store.Open();
        var exporter = new LayerExporter(store);

        using (exporter.Prepare("top", ["middle"]))
        {
        }

        var error = Assert.Throws<ParentChainMismatchException>(() => exporter.Prepare("top", ["base0"]));
        Assert.Equal(["middle", "base0"], error.RecordedChain);
    }

    [Fact]
    public void SymlinkedLayersAndFilesDirectoriesAreRefused()
    {
        AddChain();
        File.CreateSymbolicLink(_store.Path("linked"), _store.Path("middle"));
        Directory.CreateDirectory(_store.Path("sneaky"));
        File.CreateSymbolicLink(_store.Path("sneaky", "Files"), "/etc");
        using var store = _store.Open();

        Assert.Throws<LayerRefusedException>(() => store.Describe(LayerId.Parse("linked")));
        Assert.Throws<LayerRefusedException>(() => store.Open(LayerId.Parse("sneaky")));
    }

    [Fact]
    public void ASymlinkedTombstonesFileIsRefused()
    {
        AddChain();
        File.Delete(_store.Path("top", "tombstones.txt"));
        File.CreateSymbolicLink(_store.Path("top", "tombstones.txt"), _store.Path("middle", "tombstones.txt"));
        using var store = _store.Open();

        Assert.Throws<LayerRefusedException>(() => store.Open(LayerId.Parse("top")));
    }

    [Theory]
    [InlineData("loop", "loop")]
    [InlineData("twice", "self", "self")]
    public void AChainThatNamesALayerTwiceOrTheLayerItselfSaysSo(string id, params string[] chain)
    {
        // 'self' records itself as its parent, so 'twice' agrees with it and only the second 'self' is wrong.
        _store.AddLayer("self", "self");
        _store.AddLayer(id, chain);
        using var store = _store.Open();

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse(id)));

        Assert.Equal($"The parent chain of layer '{id}' names '{chain[^1]}' twice or loops back to the layer.", error.Message);
    }

    [Fact]
    public void AChainThatDisagreesWithItsParentListsBothChainsInFull()
    {
        AddChain();
        _store.AddLayer("base1");
        _store.AddLayer("upper", "base0", "base1");
        _store.AddLayer("liar", "upper", "base1", "base0");
        using var store = _store.Open();

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse("liar")));

        Assert.Equal("Layer 'liar' records [base1, base0] below 'upper', but 'upper' records [base0, base1].", error.Message);
    }

    [Theory]
    [InlineData("\uFEFF[\"base0\"]", new[] { "base0" })]
    [InlineData("null", new string[0])]
    public void ALayerchainWithAByteOrderMarkOrNullIsRead(string content, string[] chain)
    {
        AddChain();
        _store.AddLayer("marked");
        _store.Write("marked/layerchain.json", System.Text.Encoding.UTF8.GetBytes(content));
        using var store = _store.Open();

        Assert.Equal(chain, store.Describe(LayerId.Parse("marked")).Chain);
    }

    [Fact]
    public void ALayerchainElementThatIsNoStringIsNamedAsWritten()
    {
        _store.AddLayer("numbered");
        _store.Write("numbered/layerchain.json", "[5]"u8.ToArray());
        using var store = _store.Open();

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse("numbered")));

        Assert.Equal("Layer 'numbered': layerchain.json names '5', whose last path element is not a layer ID.", error.Message);
    }

    [Fact]
    public void ARegularFileInPlaceOfALayerDirectoryIsNoLayer()
    {
        _store.Write("plain", "not a layer"u8.ToArray());
        using var store = _store.Open();

        Assert.Throws<LayerNotFoundException>(() => store.Describe(LayerId.Parse("plain")));
    }

    [Fact]
    public void RefusalsNameTheLayerAndWhatIsLinked()
    {
        AddChain();
        File.CreateSymbolicLink(_store.Path("linked"), _store.Path("middle"));
        Directory.CreateDirectory(_store.Path("sneaky"));
        File.CreateSymbolicLink(_store.Path("sneaky", "Files"), "/etc");
        using var store = _store.Open();

        Assert.Equal("Layer 'linked' is a symbolic link in the store; refused.", Assert.Throws<LayerRefusedException>(() => store.Describe(LayerId.Parse("linked"))).Message);
        Assert.Equal("Layer 'sneaky': Files is a symbolic link; refused.", Assert.Throws<LayerRefusedException>(() => store.Describe(LayerId.Parse("sneaky"))).Message);
    }

    [Fact]
    public void ASymlinkedLayerRemovedAsItIsLookedAtIsNotInTheStore()
    {
        // Its open is refused as a symlink; gone before the second look that tells a symlink from other refusals.
        AddChain();
        File.CreateSymbolicLink(_store.Path("linked"), _store.Path("middle"));
        using var store = _store.Open();

        var error = Record.Exception(() => SyscallRace.AtStatusOfAName(
            () => store.Describe(LayerId.Parse("linked")),
            name =>
            {
                if (name == "linked")
                {
                    File.Delete(_store.Path("linked"));
                }
            }));

        Assert.IsType<LayerNotFoundException>(error);
    }

    [Fact]
    public void LayersThatCannotBeOpenedLeaveNoDescriptorOpen()
    {
        // The store keeps its root open, and nothing below it once a lookup has failed.
        AddChain();
        File.Delete(_store.Path("top", "tombstones.txt"));
        Directory.CreateDirectory(_store.Path("scratch"));
        Directory.CreateDirectory(_store.Path("sneaky"));
        File.CreateSymbolicLink(_store.Path("sneaky", "Files"), "/etc");
        using var store = _store.Open();

        Assert.Throws<WindowsLayerFormatException>(() => store.Open(LayerId.Parse("top")));
        Assert.Throws<LayerNotFoundException>(() => store.Describe(LayerId.Parse("scratch")));
        Assert.Throws<LayerRefusedException>(() => store.Describe(LayerId.Parse("sneaky")));

        Assert.Equal([_store.Root], OpenFileDescriptors.Under(_store.Root));
    }

    [Fact]
    public void ARootDeletedSinceTheStoreWasOpenedMakesTheStoreUnavailable()
    {
        using var store = _store.Open();
        Directory.Delete(_store.Root, recursive: true);
        try
        {
            var error = Assert.Throws<LayerStoreUnavailableException>(() => store.Describe(LayerId.Parse("gone")));

            Assert.Equal("The layer store cannot be read: the root directory was deleted; restart the server once the store is back.", error.Message);
        }
        finally
        {
            Directory.CreateDirectory(_store.Root);
        }
    }

    // base0 <- middle <- top, with moby-style paths in one chain and bare IDs in the other.
    private void AddChain()
    {
        _store.AddLayer("base0");
        _store.Encoded("base0/Files.$wcidirs$", DirectoryAttribute, [], Time, Time);
        _store.AddLayer("middle", @"C:\ProgramData\docker\windowsfilter\base0");
        _store.AddLayer("top", @"C:\ProgramData\docker\windowsfilter\middle\", "base0");
        foreach (var id in new[] { "middle", "top" })
        {
            _store.Write(id + "/Hives/System_Delta", "regf"u8.ToArray());
            _store.Tombstones(id, "");
        }
    }
}
