using System.Net;
using IntegrationTests.Support;
using LayerExport.TestSupport;
using LayerExportApi.Limits;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Serilog.Events;
using static IntegrationTests.Support.HeldExportServer;

namespace IntegrationTests;

/// <summary>At most Limits:ConcurrentExports tar downloads and descriptor requests run, Limits:QueuedExports wait up to Limits:QueueTimeout, the rest get 503 with Retry-After.</summary>
/// <remarks>Alone, because it reads the metrics, which count every host in the process.</remarks>
[Collection(nameof(ProcessWideMeasurements))]
public sealed class ExportLimitTests : IAsyncLifetime
{
    private HeldExportServer? _held;

    private HeldExportServer Held => _held ?? throw new InvalidOperationException("not started");

    public Task InitializeAsync()
    {
        _held = HeldExportServer.Start(new Dictionary<string, string>
        {
            ["Limits:ConcurrentExports"] = "2",
            ["Limits:QueuedExports"] = "1",
            ["Limits:RetryAfterSeconds"] = "7",
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_held is not null)
        {
            await _held.DisposeAsync();
        }
    }

    [Fact]
    public async Task BeyondTheSlotsAndTheQueueAnExportIsRefusedWith503AndRetryAfter()
    {
        using var client = Held.Server.CreateClient();
        var running = new[] { DownloadAsync(client, TarPath), DownloadAsync(client, TarPath + "?compression=zstd") };
        await Held.Blocking.WaitUntilHeldAsync(2);
        var queued = DownloadAsync(client, TarPath);
        WaitUntil(() => Held.Gate.Queued == 1, "the third export is queued");

        using var refused = await client.GetAsync(new Uri(TarPath + "?compression=gzip", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:layer-export:problem:too-many-exports", problem.GetProperty("type").GetString());
        Assert.Equal("2 exports are running and 1 is waiting; try again later.", problem.GetProperty("detail").GetString());
        Assert.Equal(TimeSpan.FromSeconds(7), refused.Headers.RetryAfter?.Delta);
        Assert.Equal(0, Held.Gate.Available);
        Assert.False(queued.IsCompleted);

        var scrape = await PrometheusScrape.TakeAsync(client);
        Assert.Equal(1, scrape.Value("layer_export_rejections_total", ("representation", "gzip")));
        Assert.Equal(1, scrape.Value("layer_export_queued"));
        Assert.Contains("# HELP layer_export_rejections_total Exports refused with 503 because every slot and queue place was taken.\n", scrape.Text, StringComparison.Ordinal);

        Held.Blocking.Release();
        var bodies = await Task.WhenAll([.. running, queued]);
        Assert.All(bodies, b => Assert.Equal(HttpStatusCode.OK, b.Status));
        Assert.Equal(bodies[0].Body, bodies[2].Body);
        Assert.True(bodies[0].Body.Length > 100_000);
        Assert.Equal(0, Held.Gate.Queued);

        // Each body of announced length gave its slot back as its last byte was written, before the client could read it.
        Assert.Equal(2, Held.Gate.Available);
    }

    [Theory]
    [InlineData("/layers/-bad/tar", "", HttpStatusCode.BadRequest, "invalid-layer-id")]
    [InlineData(TarPath + "?parent=-bad", "", HttpStatusCode.BadRequest, "invalid-layer-id")]
    [InlineData(TarPath + "?compression=brotli", "", HttpStatusCode.BadRequest, "unknown-compression")]
    [InlineData(TarPath + "?parents=" + Layer, "", HttpStatusCode.BadRequest, "unknown-query-parameter")]
    [InlineData(TarPath, "Accept: text/html", HttpStatusCode.NotAcceptable, "not-acceptable")]
    [InlineData(TarPath, "Accept: ;;;", HttpStatusCode.BadRequest, "malformed-accept")]
    [InlineData(TarPath, "If-None-Match: sha256", HttpStatusCode.BadRequest, "malformed-if-none-match")]
    [InlineData(TarPath, "Range: bytes=5-1", HttpStatusCode.BadRequest, "malformed-range")]
    [InlineData($"/layers/{Layer}/descriptor?compression=brotli", "", HttpStatusCode.BadRequest, "unknown-compression")]
    [InlineData("/layers/missing/tar", "", HttpStatusCode.NotFound, "layer-not-found")]
    [InlineData(TarPath + "?parent=other", "", HttpStatusCode.Conflict, "parent-chain-mismatch")]
    [InlineData("/layers/missing/descriptor", "", HttpStatusCode.NotFound, "layer-not-found")]
    public async Task BadInputIsAnsweredAtOnceWhileEverySlotAndQueuePlaceIsTaken(string path, string header, HttpStatusCode status, string type)
    {
        // A request that can never succeed is not told to come back later, nor queued behind downloads: the store's
        // verdict on the layer and its parents is asked for once no slot is free.
        using var client = Held.Server.CreateClient();
        var running = new[] { DownloadAsync(client, TarPath), DownloadAsync(client, TarPath), };
        await Held.Blocking.WaitUntilHeldAsync(2);
        var queued = DownloadAsync(client, TarPath);
        WaitUntil(() => Held.Gate.Queued == 1, "the third export is queued");
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (header.Split(": ") is [var name, var value])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var refused = await client.SendAsync(request);

        var problem = await ProblemAssert.IsProblemAsync(refused, status);
        Assert.Equal($"urn:layer-export:problem:{type}", problem.GetProperty("type").GetString());
        Assert.Equal(1, Held.Gate.Queued);
        Held.Blocking.Release();
        Assert.All(await Task.WhenAll([.. running, queued]), b => Assert.Equal(HttpStatusCode.OK, b.Status));
    }

    [Fact]
    public async Task MetadataAndHealthAreNeverQueued()
    {
        using var client = Held.Server.CreateClient();
        var running = new[] { DownloadAsync(client, TarPath), DownloadAsync(client, TarPath), };
        await Held.Blocking.WaitUntilHeldAsync(2);
        var queued = DownloadAsync(client, TarPath);
        WaitUntil(() => Held.Gate.Queued == 1, "the third export is queued");

        foreach (var path in (string[])["/layers", $"/layers/{Layer}", "/healthz", "/readyz", "/metrics", "/openapi/v1.json"])
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} answered {(int)response.StatusCode} while every export slot was taken");
        }

        Held.Blocking.Release();
        Assert.All(await Task.WhenAll([.. running, queued]), b => Assert.Equal(HttpStatusCode.OK, b.Status));
    }

    [Fact]
    public async Task ADescriptorToComputeTakesAnExportSlotToo()
    {
        // Computing a descriptor is a whole export (and a compression); beyond the slots and the queue it is refused.
        using var client = Held.Server.CreateClient();
        var running = new[] { DownloadAsync(client, TarPath), DownloadAsync(client, TarPath), };
        await Held.Blocking.WaitUntilHeldAsync(2);
        var queued = DownloadAsync(client, TarPath);
        WaitUntil(() => Held.Gate.Queued == 1, "the third export is queued");

        // A JSON client's Accept names no layer media type; the descriptor endpoint does not read it.
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/layers/{Layer}/descriptor", UriKind.Relative));
        request.Headers.Accept.ParseAdd("application/json");
        using var refused = await client.SendAsync(request);

        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:layer-export:problem:too-many-exports", problem.GetProperty("type").GetString());
        var scrape = await PrometheusScrape.TakeAsync(client);
        Assert.Equal(1, scrape.Value("layer_export_rejections_total", ("representation", "none")));
        Assert.Equal(0, scrape.Value("layer_export_rejections_total", ("representation", "invalid")));
        Held.Blocking.Release();
        Assert.All(await Task.WhenAll([.. running, queued]), b => Assert.Equal(HttpStatusCode.OK, b.Status));
    }

    [Fact]
    public async Task ARefusedDownloadIsCountedUnderTheRepresentationItsAcceptAskedFor()
    {
        // A registry client asks by Accept, not by ?compression=; the refusals of zstd pulls show up under zstd.
        using var client = Held.Server.CreateClient();
        var running = new[] { DownloadAsync(client, TarPath), DownloadAsync(client, TarPath) };
        await Held.Blocking.WaitUntilHeldAsync(2);
        var queued = DownloadAsync(client, TarPath);
        WaitUntil(() => Held.Gate.Queued == 1, "the third export is queued");

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(TarPath, UriKind.Relative));
        request.Headers.Accept.ParseAdd("application/vnd.oci.image.layer.v1.tar+zstd");
        using var refused = await client.SendAsync(request);

        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
        var scrape = await PrometheusScrape.TakeAsync(client);
        Assert.Equal(1, scrape.Value("layer_export_rejections_total", ("representation", "zstd")));
        Assert.Equal(0, scrape.Value("layer_export_rejections_total", ("representation", "none")));
        Held.Blocking.Release();
        Assert.All(await Task.WhenAll([.. running, queued]), b => Assert.Equal(HttpStatusCode.OK, b.Status));
    }

    [Fact]
    public async Task AClientThatGivesUpWhileQueuedFreesItsPlace()
    {
        using var client = Held.Server.CreateClient();
        var running = new[] { DownloadAsync(client, TarPath), DownloadAsync(client, TarPath) };
        await Held.Blocking.WaitUntilHeldAsync(2);
        using var giveUp = new CancellationTokenSource();
        var abandoned = DownloadAsync(client, TarPath, giveUp.Token);
        WaitUntil(() => Held.Gate.Queued == 1, "the third export is queued");

        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        WaitUntil(() => Held.Gate.Queued == 0, "the abandoned export left the queue");
        var next = DownloadAsync(client, TarPath);
        WaitUntil(() => Held.Gate.Queued == 1, "the next export is queued, not refused");

        Held.Blocking.Release();
        Assert.All(await Task.WhenAll([.. running, next]), b => Assert.Equal(HttpStatusCode.OK, b.Status));
    }

    public static TheoryData<string, string?> BodiesOfAnnouncedLength => new()
    {
        { TarPath, null },
        { TarPath, "bytes=10-99999" },
        { $"{TarPath}?compression=gzip", null },
    };

    [Theory]
    [MemberData(nameof(BodiesOfAnnouncedLength))]
    public async Task AnExportsSlotIsFreeOnceItsClientHasTheWholeBody(string path, string? range)
    {
        // The server is held after the body, where it logs the export's line: a client that has every announced byte
        // asks again at once on a connection of its own, as a downloader working through layers one by one does.
        var completion = new HeldLogLine(IsCompletionLine);
        await using var server = StartOneSlotNoQueue(completion);
        try
        {
            using var client = server.CreateClient();
            if (path.EndsWith("gzip", StringComparison.Ordinal))
            {
                // Its size is announced only once its descriptor is known.
                using var descriptor = await client.GetAsync(new Uri($"/layers/{Layer}/descriptor?compression=gzip", UriKind.Relative));
                Assert.Equal(HttpStatusCode.OK, descriptor.StatusCode);
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
            if (range is not null)
            {
                request.Headers.Range = System.Net.Http.Headers.RangeHeaderValue.Parse(range);
            }

            using var response = await client.SendAsync(request);
            Assert.Equal(range is null ? HttpStatusCode.OK : HttpStatusCode.PartialContent, response.StatusCode);
            Assert.Equal(response.Content.Headers.ContentLength, (await response.Content.ReadAsByteArrayAsync()).Length);
            await completion.WaitUntilHeldAsync();

            using var next = server.CreateClient();
            using var again = await next.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri(path, UriKind.Relative)));

            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }
        finally
        {
            completion.Release();
        }
    }

    [Fact]
    public async Task AChunkedBodyKeepsItsSlotUntilItsLastChunk()
    {
        // A gzip body whose size is not known yet goes out chunked: the client has it whole only with the last chunk,
        // which the server writes when the request ends, so the slot is held meanwhile.
        var completion = new HeldLogLine(IsCompletionLine);
        await using var server = StartOneSlotNoQueue(completion);
        var path = $"{TarPath}?compression=gzip";
        try
        {
            using var client = server.CreateClient();
            var download = DownloadAsync(client, path);
            await completion.WaitUntilHeldAsync();

            using var next = server.CreateClient();
            using var refused = await next.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri(path, UriKind.Relative)));

            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.False(download.IsCompleted);
            completion.Release();
            Assert.Equal(HttpStatusCode.OK, (await download).Status);
        }
        finally
        {
            completion.Release();
        }
    }

    [Fact]
    public async Task ADownloadThatWaitsLongerThanTheQueueTimeoutIsRefusedAndLeavesTheQueue()
    {
        BlockingLayerStore? blocking = null;
        await using var server = ApiServer.Start(
            Held.StoreRoot,
            services => services.DecorateLayerStore(inner => blocking = new BlockingLayerStore(inner, HeldEntry)),
            settings: new Dictionary<string, string>
            {
                ["Limits:ConcurrentExports"] = "1",
                ["Limits:QueueTimeout"] = "00:00:00.300",
                ["Limits:RetryAfterSeconds"] = "5",
            });
        var held = blocking ?? throw new InvalidOperationException("store not decorated");
        var gate = server.Services.GetRequiredService<ExportGate>();
        using var client = server.CreateClient();
        try
        {
            var running = DownloadAsync(client, TarPath);
            await held.WaitUntilHeldAsync(1);

            using var refused = await client.GetAsync(new Uri(TarPath, UriKind.Relative));

            var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
            Assert.Equal("urn:layer-export:problem:too-many-exports", problem.GetProperty("type").GetString());
            Assert.Contains("within 0.3 s", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
            Assert.Equal(0, gate.Queued);
            Assert.False(running.IsCompleted);

            held.Release();
            Assert.Equal(HttpStatusCode.OK, (await running).Status);
            WaitUntil(() => gate.Available == 1, "the slot was given back");
        }
        finally
        {
            held.Release();
        }
    }

    // The line an export logs once its body is written, in the work that follows the body.
    private static bool IsCompletionLine(LogEvent logEvent) =>
        logEvent.MessageTemplate.Text.StartsWith("Export of layer", StringComparison.Ordinal)
        && logEvent.MessageTemplate.Text.Contains(" completed", StringComparison.Ordinal);

    // One export slot and no queue: a request that finds the slot taken is refused at once.
    private ApiServer StartOneSlotNoQueue(HeldLogLine completion) =>
        ApiServer.Start(
            Held.StoreRoot,
            services => services.AddSingleton<ILogEventSink>(completion),
            settings: new Dictionary<string, string>
            {
                ["Limits:ConcurrentExports"] = "1",
                ["Limits:QueuedExports"] = "0",
            });
}
