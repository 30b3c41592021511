using System.Net;
using LayerExport.TestSupport;
using SidecarTests.Infrastructure;

namespace SidecarTests;

/// <summary>Once a representation's digest is known, every GET and HEAD announces it before the body, and If-None-Match uses it.</summary>
public sealed class DigestAnnouncementTests
{
    private const string LayerId = "app";

    [Theory]
    [InlineData("none")]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task DigestIsAnnouncedAfterACompletedDownload(string compression)
    {
        var representation = Representation.Named(compression);
        using var work = new TemporaryDirectory("sidecar-announce");
        var store = new NativeStoreBuilder(work.Combine("store"));
        store.AddMixedLayer(LayerId);
        using var server = new ApiServer(store.Root, work.Combine("digests"));
        using var client = server.CreateClient();
        var path = representation.TarPath(LayerId);

        var firstHead = await client.FetchAsync(HttpMethod.Head, path);
        var first = await client.FetchAsync(path);
        Assert.Equal(HttpStatusCode.OK, first.Status);
        DigestHeaders.AssertAbsent(firstHead);
        DigestHeaders.AssertAbsent(first);
        if (representation == Representation.Tar)
        {
            // The plain tar's length is known from the metadata alone.
            Assert.Equal(first.Body.LongLength, firstHead.ContentLength);
            Assert.Equal(first.Body.LongLength, first.ContentLength);
        }
        else
        {
            Assert.Null(first.ContentLength);
        }

        var digest = first.BodyDigest;
        var head = await client.FetchAsync(HttpMethod.Head, path);
        DigestHeaders.AssertAnnounced(head, digest, first.Body.LongLength);
        Assert.Empty(head.Body);

        var second = await client.FetchAsync(path);
        DigestHeaders.AssertAnnounced(second, digest, first.Body.LongLength);
        Assert.Equal(first.Body, second.Body);

        var notModified = await client.FetchAsync(path, r => r.Headers.TryAddWithoutValidation("If-None-Match", $"\"{digest}\""));
        Assert.Equal(HttpStatusCode.NotModified, notModified.Status);
        Assert.Empty(notModified.Body);
        Assert.Equal($"\"{digest}\"", notModified.ETag);

        var otherTag = "\"sha256:" + new string('0', 64) + "\"";
        var modified = await client.FetchAsync(path, r => r.Headers.TryAddWithoutValidation("If-None-Match", otherTag));
        DigestHeaders.AssertAnnounced(modified, digest, first.Body.LongLength);
        Assert.Equal(first.Body, modified.Body);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task DescriptorRequestAnnouncesTheDigestBeforeAnyDownload(string compression)
    {
        var representation = Representation.Named(compression);
        using var work = new TemporaryDirectory("sidecar-announce-descriptor");
        var store = new NativeStoreBuilder(work.Combine("store"));
        store.AddMixedLayer(LayerId);
        using var server = new ApiServer(store.Root, work.Combine("digests"));
        using var client = server.CreateClient();

        var descriptor = await DescriptorJson.GetAsync(client, LayerId, representation);
        var head = await client.FetchAsync(HttpMethod.Head, representation.TarPath(LayerId));
        DigestHeaders.AssertAnnounced(head, descriptor.Digest, descriptor.Size);

        var get = await client.FetchAsync(representation.TarPath(LayerId));
        DigestHeaders.AssertAnnounced(get, descriptor.Digest, descriptor.Size);
        Assert.Equal(descriptor.Digest, get.BodyDigest);
        Assert.Equal(descriptor.Size, get.Body.LongLength);
    }

    [Fact]
    public async Task CompressedDownloadAlsoMakesThePlainTarDigestKnown()
    {
        using var work = new TemporaryDirectory("sidecar-announce-difffid");
        var store = new NativeStoreBuilder(work.Combine("store"));
        store.AddMixedLayer(LayerId);
        using var server = new ApiServer(store.Root, work.Combine("digests"));
        using var client = server.CreateClient();

        await client.GetOkBytesAsync(Representation.Gzip.TarPath(LayerId));
        var plain = await client.FetchAsync(Representation.Tar.TarPath(LayerId));
        DigestHeaders.AssertAnnounced(plain, plain.BodyDigest, plain.Body.LongLength);
    }
}
