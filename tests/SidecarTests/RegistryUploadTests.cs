using System.Net;
using System.Net.Http.Headers;
using LayerExport.TestSupport;
using SidecarTests.Infrastructure;

namespace SidecarTests;

/// <summary>A real registry accepts a blob streamed straight from the server under the digest the server advertised.</summary>
public sealed class RegistryUploadTests
{
    private const string LayerId = "app";
    private const string Repository = "sidecar/app";

    [Fact]
    public async Task RegistryAcceptsTheStreamedGzipBlobUnderTheAdvertisedDigest()
    {
        using var work = new TemporaryDirectory("sidecar-registry");
        var store = new NativeStoreBuilder(work.Combine("store"));
        store.AddMixedLayer(LayerId);
        using var server = new ApiServer(store.Root, work.Combine("digests"));
        using var api = server.CreateClient();
        using var registry = await RegistryProcess.StartAsync(work.CreateSubdirectory("registry"));
        using var registryClient = registry.CreateClient();

        var descriptor = await DescriptorJson.GetAsync(api, LayerId, Representation.Gzip);

        // The control: the registry checks digests, so a 201 below means the bytes really hash to the advertised one.
        using (var wrong = await StreamBlobAsync(api, registryClient, "sha256:" + new string('0', 64)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        }

        using (var put = await StreamBlobAsync(api, registryClient, descriptor.Digest))
        {
            Assert.True(put.StatusCode == HttpStatusCode.Created, $"PUT answered {(int)put.StatusCode}: {await put.Content.ReadAsStringAsync()}\nregistry output:\n{registry.Output}");
            Assert.Equal(descriptor.Digest, put.Headers.GetValues("Docker-Content-Digest").Single());
        }

        using var head = await registryClient.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{Repository}/blobs/{descriptor.Digest}"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(descriptor.Size, head.Content.Headers.ContentLength);
        Assert.Equal(descriptor.Digest, head.Headers.GetValues("Docker-Content-Digest").Single());
    }

    // Starts an upload, then PUTs the body of GET /layers/{id}/tar?compression=gzip into it as it arrives.
    private static async Task<HttpResponseMessage> StreamBlobAsync(HttpClient api, HttpClient registry, string digest)
    {
        using var start = await registry.PostAsync($"/v2/{Repository}/blobs/uploads/", content: null);
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var location = new Uri(registry.BaseAddress!, start.Headers.Location!);
        var separator = string.IsNullOrEmpty(location.Query) ? "?" : "&";
        var target = new Uri($"{location}{separator}digest={Uri.EscapeDataString(digest)}");

        using var source = await api.GetAsync(Representation.Gzip.TarPath(LayerId), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, source.StatusCode);
        Assert.NotNull(source.Content.Headers.ContentLength);
        await using var body = await source.Content.ReadAsStreamAsync();
        using var put = new HttpRequestMessage(HttpMethod.Put, target) { Content = new StreamContent(body) };
        put.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        put.Content.Headers.ContentLength = source.Content.Headers.ContentLength;
        return await registry.SendAsync(put);
    }
}
