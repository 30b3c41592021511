using System.Security.Cryptography;
using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>On a file system that stamps whole seconds, a file rewritten within its second keeps the layer's fingerprint: what was read of so young a state is not kept.</summary>
[Collection(SerialTests.Name)]
public sealed class CoarseTimestampTests
{
    private const string Layer = "racy";

    [Fact]
    public async Task ADigestReadOfAFileThatIsThenRewrittenWithinItsSecondIsNotAnnouncedForTheNewBytes()
    {
        await using var fileSystem = await ScratchFileSystem.MountAsync(ScratchFileSystem.SecondsExt4);
        var store = Path.Combine(fileSystem.MountPoint, "store");
        var file = Path.Combine(Directory.CreateDirectory(Path.Combine(store, Layer, "diff")).FullName, "config");
        await File.WriteAllTextAsync(Path.Combine(store, Layer, "layer.json"), "{}");
        using var layers = new NativeLayerStore(store);
        using var descriptors = new LayerDescriptors(new LayerExporter(layers), new DigestCache(directory: null), new CompressionOptions());

        // A second may pass between the two writes (then the ctime moves and there is no race to show): tried again.
        for (var attempt = 0; attempt < 10; attempt++)
        {
            await File.WriteAllTextAsync(file, $"before {attempt}\n");
            var read = Survey(layers);
            var described = await descriptors.GetAsync(Layer, read, LayerCompression.None, CancellationToken.None);
            await File.WriteAllTextAsync(file, $"after! {attempt}\n");
            var rewritten = Survey(layers);
            if (rewritten.Fingerprint != read.Fingerprint)
            {
                continue;
            }

            // Kept, the digest of "before" would be announced (ETag, Docker-Content-Digest) and trusted for ranges of "after!".
            var now = await TarExport.ToBytesAsync(layers, Layer, CancellationToken.None);
            Assert.NotEqual(LayerDigest.FromHash(SHA256.HashData(now)), described.Digest);
            Assert.Null(descriptors.TryGetKnown(Layer, rewritten, LayerCompression.None));
            return;
        }

        Assert.Fail("every rewrite moved the ctime to another second: the race was never set up");
    }

    private static LayerSurvey Survey(ILayerStore store)
    {
        using var export = new LayerExporter(store).Prepare(Layer, []);
        return export.Survey(CancellationToken.None);
    }
}
