using System.Net;
using IntegrationTests.Support;
using Serilog.Events;
using LayerExport.Core.Tar;

namespace IntegrationTests;

/// <summary>
/// An export that fails before its first flush has sent nothing, so the client gets the problem response; one that
/// fails after it still breaks the transfer.
/// </summary>
public sealed class FirstFlushFailureTests : IAsyncLifetime
{
    private const string Small = "small";
    private const string Failing = "failing";
    private const string FailsLate = "fails-late";
    private const string FailsLarge = "fails-large";
    private const string PastABlock = "past-a-block";
    private const string FailingEntry = "z/fails.bin";
    private const string EditedFile = "etc/config";

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer(Small)
        .AddFile(Small, EditedFile, "a=1\n"u8.ToArray())
        .AddPatternFile(Small, "data/blob.bin", 20_000)
        .AddLayer(Failing)
        .AddFile(Failing, "a/first.txt", "first\n"u8.ToArray())
        .AddPatternFile(Failing, FailingEntry, 8192)
        .AddLayer(FailsLate)
        .AddPatternFile(FailsLate, FailingEntry, 8192)
        .AddLayer(FailsLarge)
        .AddPatternFile(FailsLarge, FailingEntry, 512 * 1024)
        .AddLayer(PastABlock)
        .AddFile(PastABlock, EditedFile, "a=1\n"u8.ToArray())
        .AddPatternFile(PastABlock, "data/blob.bin", 1536 * 1024);

    private ApiServer? _server;

    private ApiServer Server => _server ?? throw new InvalidOperationException("not started");

    public Task InitializeAsync()
    {
        // Small files before the failing one fill more than a flush's worth: the flush, not a large read, sends them.
        for (var i = 0; i < 40; i++)
        {
            _store.AddPatternFile(FailsLate, $"a/{i:D2}.bin", 3000);
        }

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
    }

    [Theory]
    [InlineData("none")]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task ALayerThatChangedAfterItsDigestWasAnnouncedIsLayerChangingAndTheNextDownloadHasTheChange(string compression)
    {
        var url = new Uri($"/layers/{Small}/tar?compression={compression}", UriKind.Relative);
        using var client = Server.CreateClient();
        var first = await client.GetByteArrayAsync(url);
        Assert.True(first.Length < TarStreamWriter.FlushThreshold);
        await File.WriteAllBytesAsync(Path.Combine(_store.DiffPath(Small), EditedFile), "a=2\n"u8.ToArray());

        using var changed = await client.GetAsync(url);
        using var after = await client.GetAsync(url);

        var problem = await ProblemAssert.IsProblemAsync(changed, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:layer-export:problem:layer-changing", problem.GetProperty("type").GetString());
        Assert.False(changed.Headers.Contains("Docker-Content-Digest"));
        Assert.Null(changed.Headers.ETag);
        Assert.Null(changed.Content.Headers.ContentDisposition);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.NotEqual(first, await after.Content.ReadAsByteArrayAsync());
        var failed = (await Server.Logs.WaitForExportOutcomesAsync(Small, 2))[1];
        Assert.Equal("503", CapturedLogs.Property(failed, "ProblemStatus"));
        Assert.Equal(LogEventLevel.Warning, failed.Level);
    }

    // A gzip body's first bytes wait for its first block (1 MiB of tar) to be compressed, not only for the tar's first
    // flush: its header alone went out as soon as that block was begun, and the change found at the end broke the
    // transfer after those 10 bytes where zstd's answered 503.
    [Fact]
    public async Task AGzipBodyPastItsFirstBlockThatFailsBeforeABlockLeftIsLayerChangingToo()
    {
        var url = new Uri($"/layers/{PastABlock}/tar?compression=gzip", UriKind.Relative);
        using var client = Server.CreateClient();
        var first = await client.GetByteArrayAsync(url);
        Assert.True(first.Length < TarStreamWriter.FlushThreshold, "the compressed body is larger than what the server holds back");
        await File.WriteAllBytesAsync(Path.Combine(_store.DiffPath(PastABlock), EditedFile), "a=2\n"u8.ToArray());

        using var changed = await client.GetAsync(url);

        var problem = await ProblemAssert.IsProblemAsync(changed, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:layer-export:problem:layer-changing", problem.GetProperty("type").GetString());
    }

    [Fact]
    public async Task AReadErrorBeforeTheFirstFlushIsAProblemNamingTheEntryAndIsLoggedAsAFailedExport()
    {
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri($"/layers/{Failing}/tar", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.Equal("urn:layer-export:problem:layer-unreadable", problem.GetProperty("type").GetString());
        Assert.Contains(FailingEntry, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var failed = await Server.Logs.WaitForExportOutcomeAsync(Failing, "failed");
        Assert.Equal(FailingEntry, CapturedLogs.Property(failed, "EntryPath"));
        Assert.Equal("500", CapturedLogs.Property(failed, "ProblemStatus"));
        Assert.Equal(LogEventLevel.Error, failed.Level);
    }

    [Fact]
    public async Task ADescriptorThatFailsBeforeAConditionalDownloadGivesBackTheLayerItOpened()
    {
        CountingLayerStore? counting = null;
        await using var server = ApiServer.Start(
            _store.Root,
            services => services.DecorateLayerStore(inner => counting = new CountingLayerStore(new FailingLayerStore(inner, FailingEntry))));
        using var client = server.CreateClient();
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/layers/{Failing}/tar?compression=gzip", UriKind.Relative));
        request.Headers.TryAddWithoutValidation("If-Match", "\"sha256:" + new string('0', 64) + "\"");

        // If-Match on a body whose digest is unknown computes the descriptor first; its failure must not keep the
        // layer open until a finalizer runs, as every such request would hold the layer's files meanwhile.
        using var response = await client.SendAsync(request);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.Equal("urn:layer-export:problem:layer-unreadable", problem.GetProperty("type").GetString());
        Assert.Equal(0, counting!.OpenLayers);
    }

    [Fact]
    public async Task ARangeThatFailsBeforeTheFirstFlushIsAProblemNotAPartialBody()
    {
        using var client = Server.CreateClient();
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/layers/{Failing}/tar", UriKind.Relative));
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(512, null);

        using var response = await client.SendAsync(request);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.Equal("urn:layer-export:problem:layer-unreadable", problem.GetProperty("type").GetString());
        Assert.Null(response.Content.Headers.ContentRange);
    }

    [Fact]
    public async Task AFailingFileLargerThanTheHeldWindowEndsTheBodyShortRatherThanAnswerAProblemAfterTarBytes()
    {
        using var client = Server.CreateClient();

        // A file too large to be read ahead is read straight into the body: the room asked for its first read handed
        // the header to the server, which cannot take it back, and a problem now would follow those bytes. The body
        // ends inside the entry instead, after its header.
        using var response = await client.GetAsync(new Uri($"/layers/{FailsLarge}/tar", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var received = new MemoryStream();
        var failure = await Record.ExceptionAsync(async () => await (await response.Content.ReadAsStreamAsync()).CopyToAsync(received));

        Assert.IsAssignableFrom<IOException>(failure);
        Assert.Equal(2 * TarHeaderEncoder.BlockSize, received.Length);
        var failed = await Server.Logs.WaitForExportOutcomeAsync(FailsLarge, "failed");
        Assert.Null(CapturedLogs.Property(failed, "ProblemStatus"));
    }

    [Fact]
    public async Task AFailureAfterTheFirstFlushStillBreaksTheTransfer()
    {
        using var client = Server.CreateClient();
        using var response = await client.GetAsync(new Uri($"/layers/{FailsLate}/tar", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var received = new MemoryStream();

        var failure = await Record.ExceptionAsync(async () => await (await response.Content.ReadAsStreamAsync()).CopyToAsync(received));

        Assert.IsAssignableFrom<IOException>(failure);
        Assert.True(received.Length >= TarStreamWriter.FlushThreshold, $"only {received.Length} bytes arrived before the failure");
        await Server.Logs.WaitForExportOutcomeAsync(FailsLate, "failed");
    }
}
