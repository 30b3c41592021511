using System.Net;
using System.Net.Http.Headers;
using IntegrationTests.Support;
using Microsoft.AspNetCore.Mvc.Testing;

namespace IntegrationTests;

/// <summary>Clients that send no Accept header (Go's net/http, Python's urllib) get the plain tar, not a 400.</summary>
public sealed class MissingAcceptHeaderTests : IDisposable
{
    // GNU tar's words for the two zero blocks that end an archive; where they are missing it says "** End of File **".
    private const string EndOfArchive = "** Block of NULs **";

    private static readonly string[] SampleAppNames =
    [
        "app/", "app/config/", "app/config/settings.toml", "app/current", "app/main.py",
        "etc/", "etc/hostname",
        "var/", "var/.wh.cache", "var/log/", "var/log/.wh.boot.log",
    ];

    private readonly WebApplicationFactory<Program> _factory = new WebApplicationFactory<Program>()
        .WithWebHostBuilder(builder => builder.UseSetting("LayerStore:Root", RepositoryFiles.SampleStore));

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("missing-accept-");

    public void Dispose()
    {
        _factory.Dispose();
        _work.Delete(recursive: true);
    }

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

        var archive = Path.Combine(_work.FullName, "app.tar");
        await File.WriteAllBytesAsync(archive, body);
        Assert.Equal(SampleAppNames, await GnuTar.ListNamesAsync(archive));
        Assert.EndsWith(EndOfArchive, (await GnuTar.ListBlocksAsync(archive))[^1], StringComparison.Ordinal);
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
}
