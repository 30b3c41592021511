using System.Net;
using IntegrationTests.Support;
using LayerExport.Core.Tar;
using LayerExportApi.Layers;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Events;

namespace IntegrationTests;

/// <summary>
/// A plain tar that fails between two entries (here: the layer changed after its digest was announced, found at
/// the end) ends in bytes tar readers reject, not at a boundary that GNU tar and bsdtar take for a complete tar.
/// </summary>
public sealed class EntryBoundaryFailureTests : IDisposable
{
    private const string Layer = "changing";
    private const string LastFile = "b/last.txt";

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer(Layer)
        .AddPatternFile(Layer, "a/first.bin", 200_000)
        .AddFile(Layer, LastFile, "aaaa"u8.ToArray());

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("boundary-");

    public void Dispose()
    {
        _store.Dispose();
        _work.Delete(recursive: true);
    }

    [Fact]
    public async Task HttpClientSeesAFailureAndTheBytesEndInTheMarker()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();
        await AnnounceThenChangeAsync(client);

        using var response = await client.GetAsync(new Uri($"/layers/{Layer}/tar", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.Contains("Docker-Content-Digest"), "the digest was not announced, so nothing was checked at the end");
        using var received = new MemoryStream();
        var failure = await Record.ExceptionAsync(async () => await (await response.Content.ReadAsStreamAsync()).CopyToAsync(received));

        Assert.IsAssignableFrom<IOException>(failure);
        var bytes = received.ToArray();
        var marker = IncompleteArchiveMarker.After(bytes.Length - IncompleteArchiveMarker.Length, 0, response.Content.Headers.ContentLength!.Value);
        Assert.True(bytes.AsSpan().EndsWith(marker), "the body does not end in the marker");
        Assert.Equal(0, (bytes.Length - IncompleteArchiveMarker.Length) % TarHeaderEncoder.BlockSize);
        Assert.True(bytes.Length < response.Content.Headers.ContentLength, "the body reached its announced length");

        // Kestrel logs the short body before it closes the connection, so its report would be here by now.
        var outcomes = await server.Logs.WaitForExportOutcomesAsync(Layer, 2);
        Assert.Contains(" failed", outcomes[1].MessageTemplate.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Logs.Events, static e => e.Exception is InvalidOperationException
            && e.Exception.Message.Contains("Content-Length mismatch", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AShortBodyIsForgottenOnceItsResponseHasCompleted()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();
        await AnnounceThenChangeAsync(client);

        using (var response = await client.GetAsync(new Uri($"/layers/{Layer}/tar", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.IsAssignableFrom<IOException>(await Record.ExceptionAsync(async () => await (await response.Content.ReadAsStreamAsync()).CopyToAsync(Stream.Null)));
        }

        // Kestrel runs a response's completion callbacks before it closes the connection, which is what failed the
        // client: the request must be gone by now, or every failed plain tar would stay in memory for good.
        var failed = (await server.Logs.WaitForExportOutcomesAsync(Layer, 2))[1];
        var request = CapturedLogs.Property(failed, "RequestId");
        Assert.False(string.IsNullOrEmpty(request), "the failure line has no request ID");
        var kestrelReport = new LogEvent(
            DateTimeOffset.UtcNow,
            LogEventLevel.Error,
            new InvalidOperationException("Response Content-Length mismatch: too few bytes written."),
            new Serilog.Parsing.MessageTemplateParser().Parse("Request id \"{TraceIdentifier}\": an unhandled exception"),
            [
                new LogEventProperty("SourceContext", new ScalarValue("Microsoft.AspNetCore.Server.Kestrel")),
                new LogEventProperty("TraceIdentifier", new ScalarValue(request)),
            ]);
        Assert.False(server.Services.GetRequiredService<IntendedShortBodies>().IsKestrelReportOfOne(kestrelReport), "the short body's request is still held");
    }

    [Fact]
    public async Task CurlFailsAndGnuTarBsdtarAndPythonRejectWhatItSaved()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();
        await AnnounceThenChangeAsync(client);

        var curl = await ProcessRunner.RunAsync("curl", ["-sS", "-o", "changed.tar", server.Url($"/layers/{Layer}/tar")], _work.FullName);
        Assert.True(curl.ExitCode == 18, $"curl did not report a short transfer: {curl.Describe()}");

        var listed = await TarReaders.AssertEachRejectsAsync(_work.FullName, "changed.tar", "cut");
        Assert.Contains(LastFile, listed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResumingTheSavedFileWithCurlGivesATarEveryReaderRejects()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();
        await AnnounceThenChangeAsync(client);
        var url = server.Url($"/layers/{Layer}/tar");
        var failed = await ProcessRunner.RunAsync("curl", ["-sS", "-o", "resumed.tar", url], _work.FullName);
        Assert.True(failed.ExitCode == 18, $"curl did not report a short transfer: {failed.Describe()}");

        // The layer is as it was when the digest was announced: the resume fetches the rest of that tar, after the marker.
        await File.WriteAllBytesAsync(Path.Combine(_store.DiffPath(Layer), LastFile), "aaaa"u8.ToArray());
        var resumed = await ProcessRunner.RunAsync("curl", ["-sS", "-C", "-", "-o", "resumed.tar", url], _work.FullName);
        Assert.True(resumed.ExitCode == 0, $"the resume failed: {resumed.Describe()}");

        await TarReaders.AssertEachRejectsAsync(_work.FullName, "resumed.tar", "resumed");
    }

    // The download after the growth takes its length from the first one's survey. The last file's one more block
    // leaves the end-of-archive blocks' 1024 bytes 512 short of room: found only by the length check before them, the
    // failure had no room for the marker, and the aborted body ended wherever the reset cut it, most often where
    // GNU tar, bsdtar and Python took it for a whole tar.
    [Fact]
    public async Task ALayerThatGrewByABlockSinceItsSurveyEndsInTheMarkerToo()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();
        var first = await client.GetByteArrayAsync(new Uri($"/layers/{Layer}/tar", UriKind.Relative));
        Assert.True(first.Length > 200_000);
        await File.WriteAllBytesAsync(Path.Combine(_store.DiffPath(Layer), LastFile), [.. Enumerable.Repeat((byte)'b', 600)]);

        var curl = await ProcessRunner.RunAsync("curl", ["-sS", "-o", "grown.tar", server.Url($"/layers/{Layer}/tar")], _work.FullName);
        Assert.True(curl.ExitCode == 18, $"curl did not report a short transfer: {curl.Describe()}");

        var saved = await File.ReadAllBytesAsync(Path.Combine(_work.FullName, "grown.tar"));
        Assert.True(saved.Length < first.Length, "the body reached the announced length");
        Assert.True(saved.AsSpan().IndexOf("LAYER-EXPORT-FAILED"u8) >= 0, "the body does not end in the marker");
        await TarReaders.AssertEachRejectsAsync(_work.FullName, "grown.tar", "cut");
    }

    // A whole download records the layer's digest; the same-size edit keeps the length and changes the digest.
    private async Task AnnounceThenChangeAsync(HttpClient client)
    {
        var first = await client.GetByteArrayAsync(new Uri($"/layers/{Layer}/tar", UriKind.Relative));
        Assert.True(first.Length > 200_000);
        await File.WriteAllBytesAsync(Path.Combine(_store.DiffPath(Layer), LastFile), "bbbb"u8.ToArray());
    }
}
