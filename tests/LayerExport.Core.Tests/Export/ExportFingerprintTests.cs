using System.IO.Pipelines;
using LayerExport.Core.Export;
using LayerExport.Core.Reader;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>
/// A digest is kept under the fingerprint of the files the export actually opened and served again to a survey
/// that finds that fingerprint; the two walks must therefore fingerprint the same files alike.
/// </summary>
public sealed class ExportFingerprintTests : IDisposable
{
    private readonly TestLayerStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task AnExportHasTheFingerprintASurveyOfTheSameFilesHas()
    {
        // A file read ahead whole, one the writer reads itself, and entries that carry no content.
        _store.AddLayer("layer")
            .Directory("etc")
            .File("etc/hostname", "layer-export\n")
            .File("etc/large", new byte[PrefetchingEntryReader.SmallFileLimit + 1])
            .HardLink("etc/hostname", "etc/hosts")
            .Symlink("etc/link", "hostname");
        using var store = new NativeLayerStore(_store.Root);
        using var export = new LayerExporter(store).Prepare("layer", []);

        var survey = export.Survey(CancellationToken.None);
        var summary = await TarExport.WriteAsync(export, PipeWriter.Create(Stream.Null), CancellationToken.None);

        Assert.Equal((survey.TarSize, survey.Entries), (summary.Bytes, summary.Entries));
        Assert.Equal(survey.Fingerprint, summary.Fingerprint);
    }

    [Fact]
    public async Task AnExportTellsHowLongItsNewestEntryHadBeenUnchangedWhenItBegan()
    {
        var before = DateTimeOffset.UtcNow;
        _store.AddLayer("layer").Directory("etc").File("etc/hostname", "layer-export\n");
        using var store = new NativeLayerStore(_store.Root);
        using var export = new LayerExporter(store).Prepare("layer", []);

        var summary = await TarExport.WriteAsync(export, PipeWriter.Create(Stream.Null), CancellationToken.None);
        var after = DateTimeOffset.UtcNow;

        // Made a moment before: younger than the whole test (a ctime may lag the clock by a tick), never in the future.
        Assert.InRange(summary.UnchangedFor, TimeSpan.Zero, after - before + TimeSpan.FromSeconds(1));
    }
}
