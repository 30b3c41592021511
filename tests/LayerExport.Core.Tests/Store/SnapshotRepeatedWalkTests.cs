using System.IO.Pipelines;
using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Store;

/// <summary>
/// One prepared snapshot export walks its two trees more than once (its survey, then the tar): every walk lists
/// the trees from their start and leaves the descriptors the export holds open for the next.
/// </summary>
public sealed class SnapshotRepeatedWalkTests : IDisposable
{
    private readonly TestSnapshotStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task TheTarWrittenAfterTheSurveyIsTheWholeLayer()
    {
        _store.AddLayer("base").File("kept", "kept").File("gone", "gone").SetAllTimes(1_700_000_000, 500);
        var child = await _store.CopyLayerAsync("base", "child");
        File.Delete(child.PathOf("gone"));
        child.File("added", "added");
        var expected = await _store.ExportAsync("child");
        using var store = new SnapshotLayerStore(_store.Root);
        using var export = new LayerExporter(store).Prepare("child", ["base"]);

        var survey = export.Survey(CancellationToken.None);
        var pipe = new Pipe();
        var writing = TarExport.WriteAsync(export, pipe.Writer, CancellationToken.None);
        using var tar = new MemoryStream();
        await pipe.Reader.AsStream().CopyToAsync(tar);
        await writing;

        Assert.Equal(expected.LongLength, survey.TarSize);
        Assert.Equal(expected, tar.ToArray());
        Assert.Equal([".wh.gone", "added"], DotNetTar.List(expected).Select(m => m.Name));
    }
}
