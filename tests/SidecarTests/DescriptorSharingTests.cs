using LayerExport.TestSupport;
using SidecarTests.Infrastructure;

namespace SidecarTests;

/// <summary>Concurrent descriptor requests for an unknown digest share one computation and one answer.</summary>
public sealed class DescriptorSharingTests
{
    private const string LayerId = "big";
    private const int FileSize = 32 * 1024 * 1024;
    private const int Requests = 8;

    [Fact]
    public async Task EightConcurrentRequestsOnAFreshCacheGetOneAnswerFromOneReadOfTheLayer()
    {
        using var work = new TemporaryDirectory("sidecar-descriptor-sharing");
        var store = new NativeStoreBuilder(work.Combine("store"));
        var diff = store.AddLayer(LayerId);
        NativeStoreBuilder.WriteFile(diff, "blob.bin", TestContent.Random(7, FileSize));
        using var server = await ApiServerProcess.StartAsync(store.Root, work.Combine("digests"));
        using var client = server.CreateClient(maxConnections: Requests);

        // Counted by the kernel, not timed: every computation reads the whole file, so eight would read 8 x 32 MiB.
        var before = server.ReadIoCounters();
        var answers = await Task.WhenAll(Enumerable.Range(0, Requests).Select(_ => DescriptorJson.GetAsync(client, LayerId, Representation.Gzip)));
        var after = server.ReadIoCounters();

        Assert.All(answers, answer => Assert.Equal(answers[0], answer));
        var read = after.ReadChars - before.ReadChars;
        Assert.True(read >= FileSize, $"the server read only {read} bytes; the counter does not see the layer being read");
        Assert.True(read < 2L * FileSize, $"the server read {read} bytes for {Requests} concurrent requests: the {FileSize}-byte file was read more than once");

        var body = await client.GetOkBytesAsync(Representation.Gzip.TarPath(LayerId));
        Assert.Equal(Digests.Sha256(body), answers[0].Digest);
        Assert.Equal(body.LongLength, answers[0].Size);
    }
}
