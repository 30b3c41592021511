using LayerExport.Core.Export;
using LayerExport.Core.Store;
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
