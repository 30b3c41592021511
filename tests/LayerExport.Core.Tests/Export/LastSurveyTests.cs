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
    public async Task ALastSurveyIsAssumedOnlyForAGeneratedTar()
    {
        _store.AddLayer("generated").File("a.txt", "a\n"u8.ToArray());
        using var store = new NativeLayerStore(_store.Root);
        using var export = new LayerExporter(store).Prepare("generated", []);
        using var docker = new TempDirectory();
        var (chain, _) = await DockerDataRoot.AddLayerAsync(docker.Path, "layer", parent: null, "--format=gnu");
        using var dockerStore = new DockerLayerStore(docker.Path);
        using var reassembled = new LayerExporter(dockerStore).Prepare(chain, []);

        // A layer without a record: a survey taken of its record is of another layer state.
        Assert.True(export.MayAssume(new LayerSurvey(1024, 0, "fingerprint")));
        Assert.False(export.MayAssume(new LayerSurvey(1024, 0, "fingerprint") { RecordedDiffId = new LayerDigest("sha256:" + new string('d', 64)) }));
        Assert.Throws<ArgumentNullException>(() => export.MayAssume(null!));

        // A reassembled tar's export surveys the layer itself: not even a survey of the state it is in now is assumed.
        Assert.False(reassembled.MayAssume(reassembled.Survey(CancellationToken.None)));
    }
}
