using System.Net;
using System.Security.Cryptography;
using IntegrationTests.Support;
using Serilog.Events;

namespace IntegrationTests;

/// <summary>A read error after the first bytes went out fails the transfer for the client and is logged with its entry.</summary>
public sealed class MidStreamFailureTests : IAsyncLifetime
{
    private const string FailingEntry = "c/fails.bin";
    private const int FirstFileSize = 256 * 1024;
    private const string Noisy = "noisy";

    // Its failing file is too large to be read ahead: it fails once its header is written, inside its entry.
    private const string Unread = "unread";

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("broken")
        .AddPatternFile("broken", "a/first.bin", FirstFileSize)
        .AddFile("broken", "b/second.txt", "second\n"u8.ToArray())
        .AddPatternFile("broken", FailingEntry, 8192)
        .AddLayer(Unread)
        .AddPatternFile(Unread, "a/first.bin", FirstFileSize)
        .AddFile(Unread, "b/second.txt", "second\n"u8.ToArray())
        .AddPatternFile(Unread, FailingEntry, 1024 * 1024)
        .AddLayer(Noisy)
        .AddFile(Noisy, "a/first.bin", RandomNumberGenerator.GetBytes(1024 * 1024))
        .AddPatternFile(Noisy, FailingEntry, 8192);

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("failure-");

    private ApiServer? _server;

    private ApiServer Server => _server ?? throw new InvalidOperationException("not started");

    public Task InitializeAsync()
    {
        _server = ApiServer.Start(_store.Root, services => services.DecorateLayerStore(inner => new FailingLayerStore(inner, FailingEntry)));
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
    public async Task HttpClientSeesAFailedTransferNeverACompleteTar()
    {
        using var client = Server.CreateClient();
        using var response = await client.GetAsync(new Uri("/layers/broken/tar", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var received = new MemoryStream();

        var failure = await Record.ExceptionAsync(async () => await (await response.Content.ReadAsStreamAsync()).CopyToAsync(received));

        Assert.IsAssignableFrom<IOException>(failure);
        Assert.True(received.Length > 64 * 1024, $"only {received.Length} bytes arrived before the failure");
        Assert.False(EndsWithEndOfArchive(received.ToArray()), "the truncated stream ends like a complete tar");
    }

    [Fact]
    public async Task AGzipBodyThatFailsAfterItsFirstFlushIsAFailedTransferNotAShortCompleteOne()
    {
        // Small blocks, few at a time: most of the random megabyte has left, compressed, when the failing entry comes.
        await using var server = ApiServer.Start(
            _store.Root,
            services => services.DecorateLayerStore(inner => new FailingLayerStore(inner, FailingEntry)),
            settings: new Dictionary<string, string> { ["Export:Threads"] = "1", ["Export:Gzip:BlockSize"] = "65536" });
        using var client = server.CreateClient();
        using var response = await client.GetAsync(new Uri($"/layers/{Noisy}/tar?compression=gzip", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(response.Content.Headers.ContentLength);
        using var received = new MemoryStream();

        // A chunked body has no length to fall short of: only a broken connection, never a last chunk, says it failed.
        var failure = await Record.ExceptionAsync(async () => await (await response.Content.ReadAsStreamAsync()).CopyToAsync(received));

        Assert.IsAssignableFrom<IOException>(failure);
        Assert.True(received.Length > 64 * 1024, $"only {received.Length} bytes arrived before the failure");
        await server.Logs.WaitForExportOutcomeAsync(Noisy, "failed");
    }

    [Fact]
    public async Task ARangeThatFailsBetweenEntriesBreaksWithoutTheIncompleteArchiveMarker()
    {
        // A range's bytes are stored at their place in the tar (curl --continue-at): a marker there would be kept as tar bytes.
        await using var server = ApiServer.Start(_store.Root, services => services.DecorateLayerStore(inner => new FailingLayerStore(inner, FailingEntry, beforeEntry: true)));
        using var client = server.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/layers/broken/tar", UriKind.Relative));
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, null);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        using var received = new MemoryStream();

        var failure = await Record.ExceptionAsync(async () => await (await response.Content.ReadAsStreamAsync()).CopyToAsync(received));

        // How much arrives varies (an aborted connection drops what was still unsent); a marker would arrive whole.
        Assert.IsAssignableFrom<IOException>(failure);
        Assert.True(received.ToArray().AsSpan().IndexOf("LAYER-EXPORT-FAILED"u8) < 0, "the range carries the incomplete-archive marker");
    }

    [Fact]
    public async Task CurlExitsWithAnError()
    {
        var curl = await ProcessRunner.RunAsync("curl", ["-fsS", "-o", "broken.tar", Server.Url("/layers/broken/tar")], _work.FullName);

        Assert.True(curl.ExitCode != 0, $"curl reported success for a failed export: {curl.Describe()}");
        Assert.NotEmpty(curl.StandardError);
    }

    // The failing entry's header, and the small entries before it, had not been flushed when its file failed: were
    // they dropped, the body would end at an earlier entry's end, where every tar reader takes it for complete
    // (curl | tar -x without pipefail exits 0).
    [Fact]
    public async Task AFailureInsideAnEntryEndsTheBodyInsideItWhereEveryTarReaderFails()
    {
        var curl = await ProcessRunner.RunAsync("curl", ["-sS", "-o", "cut.tar", Server.Url($"/layers/{Unread}/tar")], _work.FullName);
        Assert.True(curl.ExitCode == 18, $"curl did not report a short transfer: {curl.Describe()}");

        var listed = await TarReaders.AssertEachRejectsAsync(_work.FullName, "cut.tar", "cut");
        Assert.Contains(FailingEntry, listed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheServerLogsTheFailureWithTheLayerAndTheEntry()
    {
        using var client = Server.CreateClient();
        using (var response = await client.GetAsync(new Uri("/layers/broken/tar", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead))
        {
            await Record.ExceptionAsync(async () => await (await response.Content.ReadAsStreamAsync()).CopyToAsync(Stream.Null));
        }

        var failed = await Server.Logs.WaitForExportOutcomeAsync("broken", "failed");

        Assert.Equal(LogEventLevel.Error, failed.Level);
        Assert.Equal("broken", CapturedLogs.Property(failed, "LayerId"));
        Assert.Equal(FailingEntry, CapturedLogs.Property(failed, "EntryPath"));
        Assert.Contains(FailingEntry, failed.RenderMessage(), StringComparison.Ordinal);
        Assert.Contains(FailingLayerStore.InjectedMessage, failed.Exception?.Message, StringComparison.Ordinal);
        Assert.True(long.Parse(CapturedLogs.Property(failed, "Bytes")!, System.Globalization.CultureInfo.InvariantCulture) > FirstFileSize);
    }

    private static bool EndsWithEndOfArchive(byte[] tar) =>
        tar.Length >= 1024 && tar.AsSpan(tar.Length - 1024).IndexOfAnyExcept((byte)0) < 0;
}
