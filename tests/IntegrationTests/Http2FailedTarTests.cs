using System.Net;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>Over HTTP/2 (h2c here) a plain tar that fails after its first byte ends in a stream reset, which the client reports as a failure.</summary>
/// <remarks>
/// The body itself proves nothing over HTTP/2: Kestrel drops what it had not framed when the stream resets, so the
/// saved bytes often end where the last flush did, at an entry's end, which tar readers take for a whole tar
/// (docs/decisions/0006-failed-plain-tar.md, "Session 40"). The reset is the signal, so that is what is checked.
/// </remarks>
public sealed class Http2FailedTarTests : IAsyncLifetime
{
    private const string Layer = "cut";
    private const string FailingEntry = "c/fails.bin";

    // A first file larger than the held first flush, so the body has started when the second one fails inside its entry.
    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer(Layer)
        .AddPatternFile(Layer, "a/first.bin", 256 * 1024)
        .AddPatternFile(Layer, FailingEntry, 1024 * 1024);

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("h2-failure-");

    private ApiServer? _server;

    private ApiServer Server => _server ?? throw new InvalidOperationException("not started");

    public Task InitializeAsync()
    {
        _server = ApiServer.Start(
            _store.Root,
            services => services.DecorateLayerStore(inner => new FailingLayerStore(inner, FailingEntry)),
            settings: new Dictionary<string, string>
            {
                ["Kestrel:Endpoints:H2c:Url"] = "http://127.0.0.1:0",
                ["Kestrel:Endpoints:H2c:Protocols"] = "Http2",
            },
            listenInCode: false);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _store.Dispose();
        _work.Delete(recursive: true);
    }

    [Fact]
    public async Task CurlExitsWithAnHttp2StreamError()
    {
        var curl = await ProcessRunner.RunAsync("curl", ["--http2-prior-knowledge", "-sS", "-o", "cut.tar", "-w", "%{http_version} %{http_code}", Server.Url($"/layers/{Layer}/tar")], _work.FullName);

        Assert.StartsWith("2 200", curl.StandardOutput, StringComparison.Ordinal);
        Assert.True(curl.ExitCode == 92, $"curl did not report an HTTP/2 stream error: {curl.Describe()}");
        Assert.Contains("INTERNAL_ERROR", curl.StandardError, StringComparison.Ordinal);
        await Server.Logs.WaitForExportOutcomeAsync(Layer, "failed");
    }

    [Fact]
    public async Task APipeIntoTarFailsWithPipefail()
    {
        // What the README tells HTTP/2 users to do: whether tar accepts the cut body varies, curl's exit status does not.
        var pipeline = await ProcessRunner.RunAsync("bash", ["-o", "pipefail", "-c", "curl --http2-prior-knowledge -sS \"$0\" | tar -tf - > /dev/null", Server.Url($"/layers/{Layer}/tar")], _work.FullName);

        Assert.True(pipeline.ExitCode != 0, $"the pipeline reported success for a failed export: {pipeline.Describe()}");
    }

    [Fact]
    public async Task HttpClientsBodyReadThrowsForTheReset()
    {
        using var client = new HttpClient { BaseAddress = Server.BaseAddress, DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await client.GetAsync(new Uri($"/layers/{Layer}/tar", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var received = new MemoryStream();

        var failure = await Record.ExceptionAsync(async () => await (await response.Content.ReadAsStreamAsync()).CopyToAsync(received));

        var reset = Assert.IsType<HttpProtocolException>(failure);
        Assert.Equal(0x2, reset.ErrorCode);
        Assert.True(received.Length < response.Content.Headers.ContentLength, $"all {received.Length} announced bytes arrived");
    }
}
