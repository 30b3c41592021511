using System.Text;
using LayerExport.TestSupport;
using SidecarTests.Infrastructure;

namespace SidecarTests;

/// <summary>GET /layers/{id}/descriptor describes exactly the bytes GET /layers/{id}/tar serves, and follows the layer when it changes.</summary>
public sealed class DescriptorTests
{
    private const string LayerId = "app";

    [Theory]
    [InlineData("none")]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task DescriptorMatchesTheServedBody(string compression)
    {
        var representation = Representation.Named(compression);
        using var work = new TemporaryDirectory("sidecar-descriptor");
        var store = new NativeStoreBuilder(work.Combine("store"));
        store.AddMixedLayer(LayerId);
        using var server = new ApiServer(store.Root, work.Combine("digests"));
        using var client = server.CreateClient();

        // Descriptor first, on an empty cache: it is computed, not copied from an earlier download.
        var descriptor = await DescriptorJson.GetAsync(client, LayerId, representation);
        var body = await client.GetOkBytesAsync(representation.TarPath(LayerId));
        var plainTar = await client.GetOkBytesAsync(Representation.Tar.TarPath(LayerId));

        Assert.Equal(representation.MediaType, descriptor.MediaType);
        Assert.Equal(Digests.Sha256(body), descriptor.Digest);
        Assert.Equal(body.LongLength, descriptor.Size);
        Assert.Equal(Digests.Sha256(plainTar), descriptor.DiffId);
    }

    [Theory]
    [InlineData("rewrite")]
    [InlineData("touch")]
    public async Task DescriptorFollowsAChangedFile(string change)
    {
        using var work = new TemporaryDirectory("sidecar-descriptor-change");
        var store = new NativeStoreBuilder(work.Combine("store"));
        var diff = store.AddMixedLayer(LayerId);
        var changed = Path.Combine(diff, "etc/config.ini");
        using var server = new ApiServer(store.Root, work.Combine("digests"));
        using var client = server.CreateClient();

        var before = new Dictionary<Representation, DescriptorJson>();
        foreach (var representation in Representation.All)
        {
            before[representation] = await DescriptorJson.GetAsync(client, LayerId, representation);
        }

        if (change == "rewrite")
        {
            // Same length, same mtime afterwards: only the content (and so the ctime) differs, not one tar header field.
            var content = await File.ReadAllBytesAsync(changed);
            var rewritten = Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(content).Replace("value", "VALUE", StringComparison.Ordinal));
            Assert.Equal(content.Length, rewritten.Length);
            await File.WriteAllBytesAsync(changed, rewritten);
            File.SetLastWriteTimeUtc(changed, NativeStoreBuilder.FixedModificationTime);
        }
        else
        {
            File.SetLastWriteTimeUtc(changed, DateTime.UtcNow);
        }

        // The descriptor request surveys the layer afresh; the downloads after it follow the change.
        var tarDescriptor = await DescriptorJson.GetAsync(client, LayerId, Representation.Tar);
        var plainTar = await client.GetOkBytesAsync(Representation.Tar.TarPath(LayerId));
        Assert.Equal(Digests.Sha256(plainTar), tarDescriptor.Digest);
        foreach (var representation in Representation.All)
        {
            var after = await DescriptorJson.GetAsync(client, LayerId, representation);
            var body = await client.GetOkBytesAsync(representation.TarPath(LayerId));
            Assert.NotEqual(before[representation].Digest, after.Digest);
            Assert.NotEqual(before[representation].DiffId, after.DiffId);
            Assert.Equal(Digests.Sha256(body), after.Digest);
            Assert.Equal(body.LongLength, after.Size);
            Assert.Equal(Digests.Sha256(plainTar), after.DiffId);
        }
    }
}
