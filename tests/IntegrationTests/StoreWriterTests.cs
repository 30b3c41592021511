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
/// Each test starts with a download of a 64 MiB layer held after its first 64 KiB, the server inside the export.
/// </remarks>
public sealed class StoreWriterTests : IAsyncLifetime
{
    private const long BigFileLength = 64L * 1024 * 1024;
    private static readonly TimeSpan WriterDeadline = TimeSpan.FromMinutes(2);

    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private BuildahStore? _buildah;
    private ApiServer? _server;
    private HttpClient? _client;
    private HttpResponseMessage? _response;
    private Stream? _body;
    private long _received;

    private BuildahStore Buildah => _buildah ?? throw new InvalidOperationException("not built");

    private ApiServer Server => _server ?? throw new InvalidOperationException("not started");

    private Stream Body => _body ?? throw new InvalidOperationException("no download");

    private long? Announced => _response?.Content.Headers.ContentLength;

    private (string Id, string? Parent, string DiffDigest) Layer => Buildah.CommittedLayers.Single(static l => l.Parent is null);

    public async Task InitializeAsync()
    {
        _buildah = await BuildahStore.CreateAsync(BigFileLength);
        _server = ApiServer.Start(_buildah.Root, settings: new Dictionary<string, string> { ["LayerStore:Layout"] = "containers-storage" });
        _client = _server.CreateClient();
        _response = await _client.GetAsync(new Uri($"/layers/{Layer.Id}/tar", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, _response.StatusCode);
        _body = await _response.Content.ReadAsStreamAsync();
        _received = await _body.ReadAsync(_buffer);
        _sha256.AppendData(_buffer, 0, (int)_received);
    }

    public async Task DisposeAsync()
    {
        _body?.Dispose();
        _response?.Dispose();
        _client?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _buildah?.Dispose();
        _sha256.Dispose();
    }

    [Fact]
    public async Task BuildahWritesTheStoreWhileADownloadOfOneOfItsLayersIsHeldOpen()
    {
        // A new working container adds a layer: Buildah takes layers.lock for writing.
        var writer = Buildah.RunAsync("from", "img2");
        var first = await Task.WhenAny(writer, Task.Delay(WriterDeadline));

        Assert.True(first == writer, $"buildah from waited more than {WriterDeadline} while a download was held open");
        var written = await writer;
        Assert.True(written.ExitCode == 0, written.Describe());
        Assert.DoesNotContain(Server.Logs.Events, e => e.MessageTemplate.Text.StartsWith("Export of layer", StringComparison.Ordinal) && CapturedLogs.Property(e, "LayerId") == Layer.Id);

        // The export went on and its layer, which the writer left alone, came whole.
        await ReadToEndAsync();
        Assert.True(_received > BigFileLength, $"{_received} bytes");
        Assert.Equal(Layer.DiffDigest, "sha256:" + Convert.ToHexStringLower(_sha256.GetHashAndReset()));
    }

    // The price of taking no lock: the layer can go while it is sent. That download fails, visibly, at the first file
    // it opens after the removal (later.bin; files read ahead before it would still go out as they were); the next is a 404.
    [Fact]
    public async Task RemovingTheLayerUnderAHeldDownloadFailsThatDownload()
    {
        var id = Layer.Id;
        var removed = await Buildah.RunAsync("rmi", "--all", "--force");
        Assert.True(removed.ExitCode == 0, removed.Describe());

        var error = await Record.ExceptionAsync(ReadToEndAsync);

        Assert.True(error is IOException or HttpRequestException, $"after {_received} of {Announced} bytes: {error}");
        Assert.True(_received < Announced, $"{_received} of {Announced} bytes");
        await Server.Logs.WaitForExportOutcomeAsync(id, "failed");
        using var client = Server.CreateClient();
        using var again = await client.GetAsync(new Uri($"/layers/{id}/tar", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    private async Task ReadToEndAsync()
    {
        for (int n; (n = await Body.ReadAsync(_buffer)) > 0;)
        {
            _sha256.AppendData(_buffer, 0, n);
            _received += n;
        }
    }
}
