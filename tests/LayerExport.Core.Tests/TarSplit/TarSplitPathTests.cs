using System.Text;
using LayerExport.Core.TarSplit;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>Paths in a record are followed only downwards from the layer root, one real directory at a time.</summary>
public sealed class TarSplitPathTests : IDisposable
{
    private static readonly byte[] Content = Encoding.ASCII.GetBytes("hi\n");

    private readonly string _directory = Directory.CreateTempSubdirectory("layerexport-tarsplit-paths-").FullName;

    public TarSplitPathTests()
    {
        // The layer root is <dir>/layer; the same content also sits beside it, where no path may lead.
        Directory.CreateDirectory(Path.Combine(_directory, "layer", "sub"));
        File.WriteAllBytes(Path.Combine(_directory, "layer", "sub", "f"), Content);
        File.WriteAllBytes(Path.Combine(_directory, "x"), Content);
        File.WriteAllBytes(Path.Combine(_directory, "layer", "x"), Content);
    }

    private string Root => Path.Combine(_directory, "layer");

    [Theory]
    [InlineData("sub/f")]
    [InlineData("./sub/f")]
    [InlineData("././sub/./f")]
    public async Task DownwardPathsAreRead(string name)
    {
        var result = await AssembleAsync(name);

        Assert.Null(result.Error);
        Assert.Equal(Content, result.Received);
    }

    [Theory]
    [InlineData("../x", "'..'")]
    [InlineData("./../x", "'..'")]
    [InlineData("sub/../../x", "'..'")]
    [InlineData("sub/../x", "'..'")]
    [InlineData("/x", "absolute")]
    [InlineData("sub//f", "empty component")]
    [InlineData("sub/f/", "empty component")]
    [InlineData("x\0", "NUL")]
    [InlineData(".", "layer root")]
    public async Task UnsafePathsAreRefusedBeforeAnythingIsOpened(string name, string reason)
    {
        var result = await AssembleAsync(name);

        var error = Assert.IsType<LayerExportException>(result.Error);
        Assert.Equal(name, error.Path);
        Assert.Contains("may not be followed", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Empty(result.Received);
    }

    [Fact]
    public async Task AMissingFileFailsNamingIt()
    {
        var result = await AssembleAsync("sub/missing");

        var error = Assert.IsType<LayerExportException>(result.Error);
        Assert.Equal("sub/missing", error.Path);
        Assert.Contains("cannot open 'missing'", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private Task<Reassembly> AssembleAsync(string name)
    {
        var compressed = SyntheticRecord.Compress([SyntheticRecord.File(name, Content, 0)]);
        return Reassembly.RunAsync(Root, () => SyntheticRecord.Open(compressed), expected: null, onFirstData: null);
    }
}
