using System.Net;
using System.Net.Http.Headers;
using IntegrationTests.Support;
using LayerExport.TestSupport;

namespace IntegrationTests;

/// <summary><c>/metrics</c> shows each ended export by representation and outcome, with its bytes, entries and duration.</summary>
/// <remarks>
/// OpenTelemetry subscribes to meters by name across the whole process, so a host also counts the exports of any
/// other host running in this test process: these tests run alone.
/// </remarks>
[Collection(nameof(ProcessWideMeasurements))]
public sealed class MetricsTests : IDisposable
{
    private const string Layer = "base";

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer(Layer)
        .AddFile(Layer, "etc/hostname", "base\n"u8.ToArray())
        .AddPatternFile(Layer, "data/blob.bin", 300_000)
        .AddLayer("big")
        .AddPatternFile("big", "data/blob.bin", 64L * 1024 * 1024)
        .AddLayer("ranged")
        .AddPatternFile("ranged", "data/blob.bin", 3L * 1024 * 1024);

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task CompletedExportsAreCountedWithTheirBytesEntriesAndDuration()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();

        using var plain = await client.GetAsync(new Uri($"/layers/{Layer}/tar", UriKind.Relative));
        var tar = await plain.Content.ReadAsByteArrayAsync();
        using var gzip = await client.GetAsync(new Uri($"/layers/{Layer}/tar?compression=gzip", UriKind.Relative));
        await gzip.Content.ReadAsByteArrayAsync();
        await server.Logs.WaitForExportOutcomesAsync(Layer, 2);

        var scrape = await PrometheusScrape.TakeAsync(client);
        (string, string) completed = ("outcome", "completed");
        foreach (var representation in (string[])["none", "gzip"])
        {
            (string, string) tag = ("representation", representation);
            Assert.Equal(1, scrape.Value("layer_export_exports_total", tag, completed));
            Assert.Equal(tar.Length, scrape.Value("layer_export_tar_bytes_total", tag, completed));
            Assert.Equal(4, scrape.Value("layer_export_entries_total", tag, completed));
            Assert.Equal(1, scrape.Value("layer_export_duration_seconds_count", tag, completed));
            Assert.True(scrape.Value("layer_export_duration_seconds_sum", tag, completed) > 0);
            Assert.Equal(0, scrape.Value("layer_export_active", tag));
        }

        Assert.Equal(0, scrape.Value("layer_export_exports_total", ("representation", "zstd")));

        // Buckets fit for exports of seconds to an hour, not the default ones of milliseconds.
        Assert.Contains("layer_export_duration_seconds_bucket{otel_scope_name=\"LayerExport\",outcome=\"completed\",representation=\"none\",le=\"0.01\"}", scrape.Text, StringComparison.Ordinal);
        Assert.Contains("le=\"3600\"}", scrape.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("le=\"7500\"}", scrape.Text, StringComparison.Ordinal);
        foreach (var help in (string[])[
            "layer_export_active Exports whose body is being written.",
            "layer_export_queued Exports waiting for a slot.",
            "layer_export_exports_total Exports ended, by representation and outcome.",
            "layer_export_tar_bytes_total Tar bytes produced by ended exports.",
            "layer_export_entries_total Tar entries written by ended exports.",
            "layer_export_duration_seconds Time from the first byte to the end of an export."])
        {
            Assert.Contains($"# HELP {help}\n", scrape.Text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ACancelledAndAFailedExportAreCountedByOutcome()
    {
        await using var server = ApiServer.Start(_store.Root, services => services.DecorateLayerStore(inner => new FailingLayerStore(inner, "etc/hostname")));
        using var client = server.CreateClient();

        using (var response = await client.GetAsync(new Uri("/layers/big/tar", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead))
        {
            await (await response.Content.ReadAsStreamAsync()).ReadExactlyAsync(new byte[1024 * 1024]);
            var active = await PrometheusScrape.TakeAsync(client);
            Assert.Equal(1, active.Value("layer_export_active", ("representation", "none")));
        }

        await server.Logs.WaitForExportOutcomeAsync("big", "cancelled");

        // zstd has emitted nothing of its first job when the read error comes: the client gets a status instead.
        using (var failed = await client.GetAsync(new Uri($"/layers/{Layer}/tar?compression=zstd", UriKind.Relative)))
        {
            await ProblemAssert.IsProblemAsync(failed, HttpStatusCode.InternalServerError);
        }

        await server.Logs.WaitForExportOutcomeAsync(Layer, "failed");

        var scrape = await PrometheusScrape.TakeAsync(client);
        Assert.Equal(1, scrape.Value("layer_export_exports_total", ("representation", "none"), ("outcome", "cancelled")));
        Assert.InRange(scrape.Value("layer_export_tar_bytes_total", ("representation", "none"), ("outcome", "cancelled")), 1024 * 1024, (64 * 1024 * 1024) - 1);
        Assert.Equal(1, scrape.Value("layer_export_exports_total", ("representation", "zstd"), ("outcome", "failed")));
        Assert.Equal(0, scrape.Value("layer_export_exports_total", ("outcome", "completed")));
        Assert.Equal(0, scrape.Value("layer_export_active", ("representation", "none")));
    }

    [Fact]
    public async Task ARangeCountsTheTarBytesMadeForItNotTheWholeLayers()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();
        var tar = await client.GetByteArrayAsync(new Uri("/layers/ranged/tar", UriKind.Relative));
        var gzip = await client.GetByteArrayAsync(new Uri("/layers/ranged/tar?compression=gzip", UriKind.Relative));
        await client.GetByteArrayAsync(new Uri("/layers/ranged/tar?compression=zstd", UriKind.Relative));
        await server.Logs.WaitForExportOutcomesAsync("ranged", 3);
        var before = await PrometheusScrape.TakeAsync(client);

        await RangeAsync(client, "none", 10, 99);
        await RangeAsync(client, "gzip", gzip.Length - 10, gzip.Length - 1);
        await RangeAsync(client, "zstd", 10, 99);
        await server.Logs.WaitForExportOutcomesAsync("ranged", 6);

        var scrape = await PrometheusScrape.TakeAsync(client);
        double Made(string representation) =>
            scrape.Value("layer_export_tar_bytes_total", ("representation", representation), ("outcome", "completed"))
            - before.Value("layer_export_tar_bytes_total", ("representation", representation), ("outcome", "completed"));

        // A plain range makes only its own bytes, however far the tar was read to end its last chunk.
        Assert.Equal(90, Made("none"));

        // The gzip body's last bytes come from compressing its last block again: the tar from that block's start.
        var gzipMade = Made("gzip");
        Assert.InRange(gzipMade, 1, tar.Length - 1);
        Assert.Equal(0, (tar.Length - gzipMade) % (1024 * 1024));

        // A zstd range is made again from the tar's start, whatever bytes of the body it asks for.
        Assert.Equal(tar.Length, Made("zstd"));
    }

    [Fact]
    public async Task ARangeOfARecordedLayerCountsItsOwnTarBytes()
    {
        using var buildah = await BuildahStore.CreateAsync();
        var (id, _, _) = buildah.CommittedLayers.Single(static l => l.Parent is not null);
        await using var server = ApiServer.Start(buildah.Root, settings: new Dictionary<string, string> { ["LayerStore:Layout"] = "containers-storage" });
        using var client = server.CreateClient();
        var path = new Uri($"/layers/{id}/tar", UriKind.Relative);
        var tar = await client.GetByteArrayAsync(path);
        await server.Logs.WaitForExportOutcomesAsync(id, 1);
        var before = await PrometheusScrape.TakeAsync(client);

        // Rebuilt from the record, not generated: the range's bytes are counted as for a generated tar.
        using (var request = new HttpRequestMessage(HttpMethod.Get, path))
        {
            request.Headers.Range = new RangeHeaderValue(512, tar.Length - 1);
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            Assert.Equal(tar[512..], await response.Content.ReadAsByteArrayAsync());
        }

        await server.Logs.WaitForExportOutcomesAsync(id, 2);
        var after = await PrometheusScrape.TakeAsync(client);
        (string, string)[] tags = [("representation", "none"), ("outcome", "completed")];

        Assert.Equal(tar.Length - 512, after.Value("layer_export_tar_bytes_total", tags) - before.Value("layer_export_tar_bytes_total", tags));
    }

    [Fact]
    public async Task AFailedRangeCountsTheTarBytesFromItsStart()
    {
        await using var server = ApiServer.Start(_store.Root, services => services.DecorateLayerStore(inner => new FailingLayerStore(inner, "etc/hostname")));
        using var client = server.CreateClient();

        // Both ranges end where the entry's read fails: the later one made that much less.
        var fromStart = await FailedRangeMadeAsync(server, client, 0, 1);
        var fromLater = await FailedRangeMadeAsync(server, client, 1000, 2) - fromStart;

        Assert.True(fromLater > 0, "the failed range counted no tar bytes");
        Assert.Equal(1000, fromStart - fromLater);
    }

    [Fact]
    public async Task TheRuntimesOwnSeriesComeAlong()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();

        var scrape = await PrometheusScrape.TakeAsync(client);
        Assert.Equal(Environment.ProcessorCount, scrape.Value("dotnet_process_cpu_count"));
        Assert.True(scrape.Value("dotnet_process_memory_working_set_bytes") > 0);
        Assert.True(scrape.Value("dotnet_thread_pool_work_item_count_total") > 0);
    }

    [Fact]
    public async Task ScrapingNeedsATokenWhenTokensAreRequired()
    {
        var token = BearerTokens.NewToken();
        await using var server = ApiServer.Start(_store.Root, settings: BearerTokens.Settings(token));
        using var client = server.CreateClient();

        using var anonymous = await client.GetAsync(new Uri("/metrics", UriKind.Relative));
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Contains("layer_export_queued", (await PrometheusScrape.TakeAsync(client)).Text, StringComparison.Ordinal);
    }

    private static async Task RangeAsync(HttpClient client, string compression, long from, long to)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/layers/ranged/tar?compression={compression}", UriKind.Relative));
        request.Headers.Range = new RangeHeaderValue(from, to);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(to - from + 1, (await response.Content.ReadAsByteArrayAsync()).Length);
    }

    // The failed-outcome tar bytes of the plain tar once a range of the base layer from start has failed.
    private static async Task<double> FailedRangeMadeAsync(ApiServer server, HttpClient client, long start, int failures)
    {
        using (var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/layers/{Layer}/tar", UriKind.Relative)))
        {
            request.Headers.Range = new RangeHeaderValue(start, null);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => response.Content.ReadAsByteArrayAsync());
        }

        await server.Logs.WaitForExportOutcomesAsync(Layer, failures);
        return (await PrometheusScrape.TakeAsync(client)).Value("layer_export_tar_bytes_total", ("representation", "none"), ("outcome", "failed"));
    }
}
