using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>A descriptor is cached under what makes its bytes: the layer state, the codec settings and, for gzip, the runtime whose zlib-ng compressed it.</summary>
public sealed class DescriptorKeyTests : IDisposable
{
    private const string LayerId = "layer";

    private readonly TestLayerStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task AGzipDescriptorIsKeyedByTheRuntimeThatCompressedIt()
    {
        // A host that rolls the shared runtime forward may get other gzip bytes; a descriptor of the old ones must not answer.
        _store.AddLayer(LayerId).File("a.txt", "a\n").SetAllTimes(1_600_000_000);
        using var store = new NativeLayerStore(_store.Root);
        var cache = new DigestCache(directory: null);
        using var descriptors = new LayerDescriptors(new LayerExporter(store), cache, new CompressionOptions());
        using var export = new LayerExporter(store).Prepare(LayerId, []);
        var survey = export.Survey(CancellationToken.None);

        var computed = await descriptors.GetAsync(LayerId, survey, LayerCompression.Gzip, CancellationToken.None);

        Assert.True(cache.TryGet(DigestCache.Key(LayerId, survey.Fingerprint, $"gzip/level=2/block=1048576/runtime={Environment.Version}"), out var cached));
        Assert.Equal(computed.Digest, cached.Digest);
    }
}
