using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>The last survey of each layer, which whole downloads announce, is kept for a bounded number of layers.</summary>
public sealed class LastSurveyTests : IDisposable
{
    private readonly TestLayerStore _store = new();

    public void Dispose() => _store.Dispose();

    // A reassembled tar's export walks nothing when it takes a survey: only one of a state an export has seen rebuild the
    // recorded diffID (its check kept) is given, never one found not to, nor one of a state no export has seen.
    [Fact]
    public void AReassembledTarsSurveyIsGivenOnlyOnceAnExportKeptItsStatesCheck()
    {
        using var store = new NativeLayerStore(_store.Root);
        using var descriptors = new LayerDescriptors(new LayerExporter(store), new DigestCache(directory: null), new CompressionOptions());
        var diffId = new LayerDigest("sha256:" + new string('d', 64));
        var survey = new LayerSurvey(1024, 0, "fingerprint") { RecordedDiffId = diffId };
        descriptors.RememberSurvey("layer", survey);

        Assert.Null(descriptors.LastSurvey("layer"));
        descriptors.Record("layer", LayerCompression.None, new ExportSummary(1024, 0, diffId, diffId, 1024, "fingerprint") { TarCheck = "check" });
        Assert.Equal(survey, descriptors.LastSurvey("layer"));
    }

    [Fact]
    public void OnceMoreLayersThanTheBoundWereSurveyedTheEarlierOnesAreForgottenAndTheLatestKept()
    {
        using var store = new NativeLayerStore(_store.Root);
        using var descriptors = new LayerDescriptors(new LayerExporter(store), new DigestCache(directory: null), new CompressionOptions());
        var survey = new LayerSurvey(1024, 0, "fingerprint");

        // A store whose layers come and go (a build host) would otherwise leave one entry behind per layer ever exported.
        for (var i = 0; i <= LayerDescriptors.MaxLastSurveys; i++)
        {
            descriptors.RememberSurvey($"layer-{i}", survey);
        }

        Assert.Null(descriptors.LastSurvey("layer-0"));
        Assert.Equal(survey, descriptors.LastSurvey($"layer-{LayerDescriptors.MaxLastSurveys}"));
    }

    [Fact]
    public void ALastSurveyIsAssumedOnlyWhileTheLayerHasItsRecordedDiffId()
    {
        _store.AddLayer("generated").File("a.txt", "a\n"u8.ToArray());
        using var store = new NativeLayerStore(_store.Root);
        using var export = new LayerExporter(store).Prepare("generated", []);

        // A layer without a record: a survey taken of its record is of another layer state.
        Assert.True(export.TryAssume(new LayerSurvey(1024, 0, "fingerprint")));
        Assert.False(export.TryAssume(new LayerSurvey(1024, 0, "fingerprint") { RecordedDiffId = new LayerDigest("sha256:" + new string('d', 64)) }));
        Assert.Throws<ArgumentNullException>(() => export.TryAssume(null!));
    }
}
