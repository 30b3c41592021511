using System.Net;
using IntegrationTests.Support;
using LayerExport.Core.Store;
using Microsoft.Extensions.DependencyInjection;

namespace IntegrationTests;

/// <summary>HEAD /layers/{id}/tar answers the GET headers and neither sends nor generates a body.</summary>
public sealed class HeadRequestTests : IDisposable
{
    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("app")
        .AddPatternFile("app", "data/blob.bin", 256 * 1024);

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task HeadSendsTheGetHeadersAndNoBodyBytesOnTheWire()
    {
        await using var server = ApiServer.Start(_store.Root);

        var head = await RawHttp.SendAsync(server.BaseAddress, "HEAD", "/layers/app/tar");
        var get = await RawHttp.SendAsync(server.BaseAddress, "GET", "/layers/app/tar");

        Assert.Equal(200, head.Status);
        Assert.Equal("application/vnd.oci.image.layer.v1.tar", head.Headers["Content-Type"]);
        Assert.Equal("attachment; filename=\"app.tar\"", head.Headers["Content-Disposition"]);
        Assert.Empty(head.WireBody);
        Assert.Equal(get.Headers["Content-Type"], head.Headers["Content-Type"]);
        Assert.Equal(get.Headers["Content-Disposition"], head.Headers["Content-Disposition"]);
        Assert.True(get.Body.Length > 256 * 1024, $"GET sent only {get.Body.Length} bytes");
    }

    [Fact]
    public async Task HeadWithARangeIsAnsweredAsTheWholeGet()
    {
        // A range is defined for GET only (RFC 9110, section 14.2): a HEAD tells the whole length, not a part's.
        await using var server = ApiServer.Start(_store.Root);

        var whole = await RawHttp.SendAsync(server.BaseAddress, "HEAD", "/layers/app/tar");
        var ranged = await RawHttp.SendAsync(server.BaseAddress, "HEAD", "/layers/app/tar", [("Range", "bytes=0-9")]);

        Assert.Equal(200, ranged.Status);
        Assert.Equal(whole.Headers["Content-Length"], ranged.Headers["Content-Length"]);
        Assert.False(ranged.Headers.ContainsKey("Content-Range"));
        Assert.Empty(ranged.WireBody);
    }

    [Fact]
    public async Task HeadDoesNotReadTheLayer()
    {
        await using var server = ApiServer.Start(_store.Root, services => services.DecorateLayerStore(inner => new CountingLayerStore(inner)));
        var store = (CountingLayerStore)server.Services.GetRequiredService<ILayerStore>();
        using var client = server.CreateClient();

        using (var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri("/layers/app/tar", UriKind.Relative))))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(0, store.ReadersCreated);
        }

        using (var get = await client.GetAsync(new Uri("/layers/app/tar", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            await get.Content.ReadAsByteArrayAsync();
            Assert.Equal(1, store.ReadersCreated);
        }
    }

    [Fact]
    public async Task HeadOfAnUnknownLayerIsNotFoundWithoutABody()
    {
        await using var server = ApiServer.Start(_store.Root);

        var head = await RawHttp.SendAsync(server.BaseAddress, "HEAD", "/layers/missing/tar");

        Assert.Equal(404, head.Status);
        Assert.Equal(ProblemAssert.MediaType, head.Headers["Content-Type"]);
        Assert.Empty(head.WireBody);
    }
}
