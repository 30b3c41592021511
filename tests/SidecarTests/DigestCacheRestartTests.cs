using LayerExport.TestSupport;
using SidecarTests.Infrastructure;

namespace SidecarTests;

/// <summary>Digests computed by one server process are announced by the next one that shares its DigestCache:Directory.</summary>
public sealed class DigestCacheRestartTests
{
    private const string LayerId = "app";

    [Fact]
    public async Task ASecondProcessWithTheSameCacheDirectoryAnnouncesTheDigestOnItsFirstGet()
    {
        using var work = new TemporaryDirectory("sidecar-restart");
        var store = new NativeStoreBuilder(work.Combine("store"));
        store.AddMixedLayer(LayerId);
        var cache = work.Combine("digests");
        var path = Representation.Gzip.TarPath(LayerId);

        Fetched first;
        using (var server = await ApiServerProcess.StartAsync(store.Root, cache))
        using (var client = server.CreateClient())
        {
            first = await client.FetchAsync(path);
            DigestHeaders.AssertAbsent(first);
        }

        using (var restarted = await ApiServerProcess.StartAsync(store.Root, cache))
        using (var client = restarted.CreateClient())
        {
            var afterRestart = await client.FetchAsync(path);
            DigestHeaders.AssertAnnounced(afterRestart, first.BodyDigest, first.Body.LongLength);
            Assert.Equal(first.Body, afterRestart.Body);
        }

        // The control: a process with an empty cache directory does not know the digest, so it came from the directory.
        using (var fresh = await ApiServerProcess.StartAsync(store.Root, work.Combine("other-digests")))
        using (var client = fresh.CreateClient())
        {
            DigestHeaders.AssertAbsent(await client.FetchAsync(path));
        }
    }
}
