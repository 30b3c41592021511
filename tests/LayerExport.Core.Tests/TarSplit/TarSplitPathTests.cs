using System.Text;
using LayerExport.Core.TarSplit;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>Paths in a record are cleaned as Go cleans them and resolved with the layer root as '/', never beyond it.</summary>
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
        File.WriteAllBytes(Path.Combine(_directory, "secret"), Encoding.ASCII.GetBytes("OUT"));
    }

    private string Root => Path.Combine(_directory, "layer");

    [Theory]
    [InlineData("sub/f")]
    [InlineData("./sub/f")]
    [InlineData("././sub/./f")]
    [InlineData("/sub/f")]
    [InlineData("sub//f")]
    [InlineData("sub/f/")]
    [InlineData("sub/../sub/f")]
    [InlineData("sub/../x")]
    public async Task PathsInsideTheLayerAreReadAsGoCleansThem(string name)
    {
        var result = await AssembleAsync(name);

        Assert.Null(result.Error);
        Assert.Equal(Content, result.Received);
    }

    [Theory]
    [InlineData("../x", "above the layer root")]
    [InlineData("./../x", "above the layer root")]
    [InlineData("sub/../../x", "above the layer root")]
    [InlineData("x\0", "NUL")]
    [InlineData(".", "layer root")]
    [InlineData("sub/..", "layer root")]
    public async Task UnsafePathsAreRefusedBeforeAnythingIsOpened(string name, string reason)
    {
        var result = await AssembleAsync(name);

        var error = Assert.IsType<LayerExportException>(result.Error);
        Assert.Equal(name, error.Path);
        Assert.Contains("may not be followed", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Empty(result.Received);
    }

    [Theory]
    [InlineData("sub")]
    [InlineData("/sub")]
    [InlineData("/../sub")]
    public async Task ADirectoryTheTarMadeASymlinkLeadsWhereItPointsInTheLayer(string target)
    {
        // A tar with 'bin -> usr/bin' and then 'bin/f': extraction put f under the link's target.
        File.CreateSymbolicLink(Path.Combine(Root, "bin"), target);

        var result = await AssembleAsync("bin/f");

        Assert.Null(result.Error);
        Assert.Equal(Content, result.Received);
    }

    [Theory]
    [InlineData("..")]
    [InlineData("../..")]
    [InlineData("/")]
    public async Task ASymlinkOutOfTheLayerLeadsToTheLayerRootInstead(string target)
    {
        // Resolved with the layer root as '/', the link reaches the root, which holds no 'secret': outside does.
        File.CreateSymbolicLink(Path.Combine(Root, "up"), target);

        var result = await AssembleAsync("up/secret");

        var error = Assert.IsType<LayerExportException>(result.Error);
        Assert.Equal("up/secret", error.Path);
        Assert.Empty(result.Received);
    }

    [Fact]
    public async Task AnAbsoluteSymlinkToADirectoryOutsideIsNotFollowedThere()
    {
        File.CreateSymbolicLink(Path.Combine(Root, "out"), _directory);

        var result = await AssembleAsync("out/secret");

        Assert.IsType<LayerExportException>(result.Error);
        Assert.Empty(result.Received);
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("x\0")]
    [InlineData("sub/..")]
    public void MeasuringTheRecordRefusesAnUnsafePathBeforeAnyByte(string name)
    {
        using var record = SyntheticRecord.Open(SyntheticRecord.Compress([SyntheticRecord.File(name, Content, 0)]));

        var error = Assert.Throws<LayerExport.Core.Store.LayerStoreCorruptException>(() => TarSplitAssembler.MeasureTarLength(record, CancellationToken.None));

        Assert.Contains("may not be followed", error.Message, StringComparison.Ordinal);
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
