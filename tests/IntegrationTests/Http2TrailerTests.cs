using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace IntegrationTests;

/// <summary>Over HTTP/2 (h2c here), a digest not known up front arrives as a trailer after the body.</summary>
public sealed class Http2TrailerTests : IDisposable
{
    private readonly string _store = Directory.CreateTempSubdirectory("layerexport-h2-").FullName;

    [Fact]
    public async Task DigestTrailerMatchesTheBodyWhenItWasNotKnownUpFront()
    {
        using var factory = StartH2cServer();
        using var client = H2cClient(factory);

        using var response = await client.GetAsync("/layers/layer/tar?compression=gzip");
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.False(response.Headers.Contains("Docker-Content-Digest"));

        // Declared in the head (RFC 9110, section 6.6.2), so a client knows to wait for it.
        Assert.True(response.Headers.TryGetValues("Trailer", out var declared), "the trailer was not declared");
        Assert.Equal("Docker-Content-Digest", Assert.Single(declared));
        Assert.True(response.TrailingHeaders.TryGetValues("Docker-Content-Digest", out var trailer), "no digest trailer");
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(body)), Assert.Single(trailer));
    }

    [Fact]
    public async Task HeadDeclaresTheDigestTrailerAsItsGetDoes()
    {
        // RFC 9110, section 9.3.2: HEAD sends the header fields its GET would, Trailer among them. HEAD first: the
        // GET records the digest, after which neither declares a trailer.
        using var factory = StartH2cServer();
        using var client = H2cClient(factory);

        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/layers/layer/tar?compression=gzip") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact });
        using var get = await client.GetAsync("/layers/layer/tar?compression=gzip", HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpVersion.Version20, head.Version);
        Assert.True(get.Headers.Contains("Trailer"), "the GET declared no trailer: nothing to compare");
        Assert.Equal(HeaderNames(get), HeaderNames(head));
        Assert.Equal(get.Headers.GetValues("Trailer"), head.Headers.GetValues("Trailer"));
    }

    [Fact]
    public async Task TheDeclaredTrailerIsDocumentedForTheStatusThatSendsIt()
    {
        // Swagger UI and generated clients know a response's headers only from the document.
        using var factory = StartH2cServer();
        using var client = H2cClient(factory);

        using var get = await client.GetAsync("/layers/layer/tar?compression=gzip", HttpCompletionOption.ResponseHeadersRead);
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/layers/layer/tar?compression=zstd") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact });
        using var document = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));

        foreach (var (method, response) in new[] { ("get", get), ("head", head) })
        {
            Assert.True(response.Headers.Contains("Trailer"), $"{method} declared no trailer: nothing to compare");
            var documented = document.RootElement.GetProperty("paths").GetProperty("/layers/{id}/tar").GetProperty(method)
                .GetProperty("responses").GetProperty(((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)).GetProperty("headers");
            Assert.True(documented.TryGetProperty("Trailer", out _), $"{method} {(int)response.StatusCode} sends Trailer, which the document does not list");
        }
    }

    public void Dispose()
    {
        Directory.Delete(_store, recursive: true);
        var cache = Path.Combine(Path.GetDirectoryName(_store)!, Path.GetFileName(_store) + "-cache");
        if (Directory.Exists(cache))
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    private static HttpClient H2cClient(WebApplicationFactory<Program> factory)
    {
        var client = factory.CreateClient();
        client.DefaultRequestVersion = HttpVersion.Version20;
        client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        return client;
    }

    private static IEnumerable<string> HeaderNames(HttpResponseMessage response) =>
        response.Headers.Concat(response.Content.Headers).Select(static h => h.Key).Order(StringComparer.OrdinalIgnoreCase);

    // One layer of random bytes, whose digest no earlier request has recorded.
    private WebApplicationFactory<Program> StartH2cServer()
    {
        var diff = Directory.CreateDirectory(Path.Combine(_store, "layer", "diff")).FullName;
        File.WriteAllText(Path.Combine(_store, "layer", "layer.json"), "{}");
        File.WriteAllBytes(Path.Combine(diff, "data.bin"), RandomNumberGenerator.GetBytes(300_000));

        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder => builder
            .UseSetting("LayerStore:Root", _store)
            .UseSetting("DigestCache:Directory", Path.Combine(_store, "..", Path.GetFileName(_store) + "-cache")));
        factory.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        factory.StartServer();
        return factory;
    }
}
