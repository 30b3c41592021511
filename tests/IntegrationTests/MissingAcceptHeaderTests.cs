using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Mvc.Testing;

namespace IntegrationTests;

/// <summary>Clients that send no Accept header (Go's net/http, Python's urllib) get the plain tar, not a 400.</summary>
public sealed class MissingAcceptHeaderTests : IDisposable
{
    private readonly WebApplicationFactory<Program> _factory = new WebApplicationFactory<Program>()
        .WithWebHostBuilder(builder => builder.UseSetting("LayerStore:Root", SampleStore()));

    public void Dispose() => _factory.Dispose();

    [Fact]
    public async Task TarRequestWithoutAcceptGetsTheWholePlainTar()
    {
        using var client = _factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/layers/app/tar");

        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Empty(request.Headers.Accept);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/vnd.oci.image.layer.v1.tar", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(response.Content.Headers.ContentLength, body.Length);
        Assert.True(body.Length >= 1024 && body.AsSpan(body.Length - 1024).IndexOfAnyExcept((byte)0) < 0, "the tar does not end with two zero blocks");
    }

    [Fact]
    public async Task MalformedAcceptIsStillRefused()
    {
        using var client = _factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/layers/app/tar");
        request.Headers.TryAddWithoutValidation("Accept", "no-slash");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(new MediaTypeHeaderValue("application/problem+json"), response.Content.Headers.ContentType);
        Assert.Contains("urn:layer-export:problem:malformed-accept", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static string SampleStore()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "LayerExport.sln")))
            {
                return Path.Combine(directory.FullName, "samples", "layer-store");
            }
        }

        throw new InvalidOperationException($"No LayerExport.sln above {AppContext.BaseDirectory}.");
    }
}
