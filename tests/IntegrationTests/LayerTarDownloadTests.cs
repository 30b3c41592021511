using System.Net;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>GET /layers/{id}/tar as HttpClient and curl see it, checked with GNU tar.</summary>
public sealed class LayerTarDownloadTests : IDisposable
{
    private const string MediaType = "application/vnd.oci.image.layer.v1.tar";

    private static readonly string[] ExpectedNames =
        ["app/", "app/main.py", "etc/", "etc/hostname", "var/", "var/.wh.cache"];

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("base")
        .AddLayer("app", parent: "base")
        .AddFile("app", "etc/hostname", "layer-host\n"u8.ToArray())
        .AddFile("app", "app/main.py", "print('hello')\n"u8.ToArray())
        .AddFile("app", "var/.wh.cache", []);

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("download-");

    public void Dispose()
    {
        _store.Dispose();
        _work.Delete(recursive: true);
    }

    [Fact]
    public async Task StreamsAnOciLayerTarThatGnuTarListsCleanly()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();

        using var response = await client.GetAsync(new Uri("/layers/app/tar", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(MediaType, response.Content.Headers.ContentType?.ToString());
        Assert.Equal("attachment; filename=\"app.tar\"", Assert.Single(response.Content.Headers.GetValues("Content-Disposition")));

        var archive = Path.Combine(_work.FullName, "body.tar");
        await File.WriteAllBytesAsync(archive, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(ExpectedNames.Length, (await GnuTar.ListVerboseAsync(archive)).Count);
        Assert.Equal(ExpectedNames, await GnuTar.ListNamesAsync(archive));
        Assert.Equal("layer-host\n", await GnuTar.ReadMemberAsync(archive, "etc/hostname"));
    }

    [Fact]
    public async Task TheFirstPlainTarAnnouncesItsExactLengthBeforeItsDigestIsKnown()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();

        // Read from the head, not computed from a buffered body: a chunked tar would leave a cut one undetectable.
        using var response = await client.GetAsync(new Uri("/layers/app/tar", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        var announced = response.Content.Headers.ContentLength;
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Docker-Content-Digest"));
        Assert.NotEqual(true, response.Headers.TransferEncodingChunked);
        Assert.Equal(body.LongLength, announced);
    }

    [Fact]
    public async Task CurlSavesTheTarUnderTheContentDispositionName()
    {
        await using var server = ApiServer.Start(_store.Root);

        var curl = await ProcessRunner.RunAsync("curl", ["-fsS", "-OJ", server.Url("/layers/app/tar")], _work.FullName);

        Assert.True(curl.ExitCode == 0, curl.Describe());
        var saved = Assert.Single(_work.GetFiles());
        Assert.Equal("app.tar", saved.Name);
        Assert.Equal(ExpectedNames.Length, (await GnuTar.ListVerboseAsync(saved.FullName)).Count);
        Assert.Equal(ExpectedNames, await GnuTar.ListNamesAsync(saved.FullName));
    }
}
