using System.Net;
using System.Security.Cryptography;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>
/// The server takes none of the runtime's locks: a download held open by a slow client never holds up the tools
/// that write the store (decision 0016).
/// </summary>
/// <remarks>
/// containers/storage guards its layers with a POSIX record lock on <c>layers.lock</c>; its own readers hold it
/// shared until their diff is closed, and every writer (a pull, a new container, a removal) waits for it. Had
/// the server taken it for the length of a download, a client reading slowly would stall Buildah and Podman.
/// </remarks>
public sealed class StoreWriterTests
{
    private const long BigFileLength = 64L * 1024 * 1024;
    private static readonly TimeSpan WriterDeadline = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task BuildahWritesTheStoreWhileADownloadOfOneOfItsLayersIsHeldOpen()
    {
        using var buildah = await BuildahStore.CreateAsync(BigFileLength);
        await using var server = ApiServer.Start(buildah.Root, settings: new Dictionary<string, string> { ["LayerStore:Layout"] = "containers-storage" });
        var (id, _, diffDigest) = buildah.CommittedLayers.Single(static l => l.Parent is null);
        using var client = server.CreateClient();
        using var response = await client.GetAsync(new Uri($"/layers/{id}/tar", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[64 * 1024];
        var received = await body.ReadAsync(buffer);
        sha256.AppendData(buffer, 0, received);

        // A new working container adds a layer: Buildah takes layers.lock for writing.
        var writer = buildah.RunAsync("from", "img2");
        var first = await Task.WhenAny(writer, Task.Delay(WriterDeadline));

        Assert.True(first == writer, $"buildah from waited more than {WriterDeadline} while a download was held open");
        var written = await writer;
        Assert.True(written.ExitCode == 0, written.Describe());
        Assert.DoesNotContain(server.Logs.Events, e => e.MessageTemplate.Text.StartsWith("Export of layer", StringComparison.Ordinal) && CapturedLogs.Property(e, "LayerId") == id);

        // The export went on and its layer, which the writer left alone, came whole.
        for (int n; (n = await body.ReadAsync(buffer)) > 0;)
        {
            sha256.AppendData(buffer, 0, n);
            received += n;
        }

        Assert.True(received > BigFileLength, $"{received} bytes");
        Assert.Equal(diffDigest, "sha256:" + Convert.ToHexStringLower(sha256.GetHashAndReset()));
    }

    // The price of taking no lock: the layer can go while it is sent. That download fails, visibly; the next is a 404.
    [Fact]
    public async Task RemovingTheLayerUnderAHeldDownloadFailsThatDownload()
    {
        using var buildah = await BuildahStore.CreateAsync(BigFileLength);
        await using var server = ApiServer.Start(buildah.Root, settings: new Dictionary<string, string> { ["LayerStore:Layout"] = "containers-storage" });
        var (id, _, _) = buildah.CommittedLayers.Single(static l => l.Parent is null);
        using var client = server.CreateClient();
        using var response = await client.GetAsync(new Uri($"/layers/{id}/tar", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[64 * 1024];
        long received = await body.ReadAsync(buffer);

        var removed = await buildah.RunAsync("rmi", "--all", "--force");
        Assert.True(removed.ExitCode == 0, removed.Describe());
        var error = await Record.ExceptionAsync(async () =>
        {
            for (int n; (n = await body.ReadAsync(buffer)) > 0;)
            {
                received += n;
            }
        });

        Assert.True(error is IOException or HttpRequestException, $"after {received} of {response.Content.Headers.ContentLength} bytes: {error}");
        Assert.True(received < response.Content.Headers.ContentLength, $"{received} bytes");
        await server.Logs.WaitForExportOutcomeAsync(id, "failed");
        using var again = await client.GetAsync(new Uri($"/layers/{id}/tar", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }
}
