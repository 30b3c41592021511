using System.Net;
using IntegrationTests.Support;
using LayerExport.Core.Store;
using Microsoft.Extensions.DependencyInjection;

namespace IntegrationTests;

/// <summary>
/// A whole download takes the tar's length from the layer's last survey instead of walking the layer again;
/// the export checks it, so a changed layer can fail one download but never gets a wrong one.
/// </summary>
public sealed class SurveyReuseTests : IDisposable
{
    private const string Compressible = "zeros";

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("app")
        .AddPatternFile("app", "data/blob.bin", 64 * 1024)
        .AddFile("app", "etc/config", "a=1\n"u8.ToArray());

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task ASecondWholeDownloadDoesNotWalkTheLayerBeforeItsFirstByte()
    {
        await using var server = ApiServer.Start(_store.Root, services => services.DecorateLayerStore(inner => new CountingLayerStore(inner)));
        var store = (CountingLayerStore)server.Services.GetRequiredService<ILayerStore>();
        using var client = server.CreateClient();

        var first = await client.GetByteArrayAsync(new Uri("/layers/app/tar", UriKind.Relative));
        var walksAfterFirst = store.MetadataReadersCreated;
        using var second = await client.GetAsync(new Uri("/layers/app/tar", UriKind.Relative));
        var body = await second.Content.ReadAsByteArrayAsync();

        Assert.Equal(1, walksAfterFirst);
        Assert.Equal(1, store.MetadataReadersCreated);
        Assert.Equal(first, body);
        Assert.Equal(body.LongLength, second.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task AWholeDownloadAfterADescriptorRequestTakesTheSurveyThatRequestMade()
    {
        // A registry push asks for the descriptor, then downloads the blob: the layer is walked once before the body.
        await using var server = ApiServer.Start(_store.Root, services => services.DecorateLayerStore(inner => new CountingLayerStore(inner)));
        var store = (CountingLayerStore)server.Services.GetRequiredService<ILayerStore>();
        using var client = server.CreateClient();

        using var descriptor = await client.GetAsync(new Uri("/layers/app/descriptor?compression=gzip", UriKind.Relative));
        var walksAfterDescriptor = store.MetadataReadersCreated;
        using var download = await client.GetAsync(new Uri("/layers/app/tar?compression=gzip", UriKind.Relative));
        await download.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, descriptor.StatusCode);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(1, walksAfterDescriptor);
        Assert.Equal(1, store.MetadataReadersCreated);
    }

    [Fact]
    public async Task ARangeOfThePlainTarIsReadWithoutAWholeExportFirst()
    {
        // Resuming a large layer's download must not wait for its whole tar to be read and hashed again.
        await using var server = ApiServer.Start(_store.Root, services => services.DecorateLayerStore(inner => new CountingLayerStore(inner)));
        var store = (CountingLayerStore)server.Services.GetRequiredService<ILayerStore>();
        using var client = server.CreateClient();
        using var ranged = new HttpRequestMessage(HttpMethod.Get, new Uri("/layers/app/tar", UriKind.Relative));
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 511);

        using var response = await client.SendAsync(ranged);
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(512, body.Length);
        Assert.Equal(1, store.ReadersCreated);
        Assert.False(response.Headers.Contains("Docker-Content-Digest"));
        Assert.Null(response.Headers.ETag);
    }

    [Fact]
    public async Task HeadRangeAndConditionalRequestsAlwaysSurveyAfresh()
    {
        await using var server = ApiServer.Start(_store.Root, services => services.DecorateLayerStore(inner => new CountingLayerStore(inner)));
        var store = (CountingLayerStore)server.Services.GetRequiredService<ILayerStore>();
        using var client = server.CreateClient();
        await client.GetByteArrayAsync(new Uri("/layers/app/tar", UriKind.Relative));

        using (await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri("/layers/app/tar", UriKind.Relative))))
        {
        }

        var ranged = new HttpRequestMessage(HttpMethod.Get, new Uri("/layers/app/tar", UriKind.Relative));
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 99);
        using (await client.SendAsync(ranged))
        {
        }

        var conditional = new HttpRequestMessage(HttpMethod.Get, new Uri("/layers/app/tar", UriKind.Relative));
        conditional.Headers.TryAddWithoutValidation("If-None-Match", "\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"");
        using (var response = await client.SendAsync(conditional))
        {
            await response.Content.ReadAsByteArrayAsync();
        }

        var ifMatch = new HttpRequestMessage(HttpMethod.Get, new Uri("/layers/app/tar", UriKind.Relative));
        ifMatch.Headers.TryAddWithoutValidation("If-Match", "\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"");
        using (var response = await client.SendAsync(ifMatch))
        {
            Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        }

        // One survey each; the range takes a second one after its bytes, before its last byte leaves.
        Assert.Equal(6, store.MetadataReadersCreated);
    }

    [Fact]
    public async Task AfterTheTarChangedLengthOneDownloadFailsVisiblyAndTheNextFollowsTheChange()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();
        var before = await client.GetByteArrayAsync(new Uri("/layers/app/tar", UriKind.Relative));

        await File.AppendAllTextAsync(Path.Combine(_store.Root, "app", "diff", "etc", "config"), new string('b', 600));

        // The length announced from the last survey is one block short: the body is cut and the transfer fails.
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetByteArrayAsync(new Uri("/layers/app/tar", UriKind.Relative)));
        using var after = await client.GetAsync(new Uri("/layers/app/tar", UriKind.Relative));
        var body = await after.Content.ReadAsByteArrayAsync();
        var archive = Path.Combine(_store.Root, "after.tar");
        await File.WriteAllBytesAsync(archive, body);

        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal(before.Length + 512, body.Length);
        Assert.Equal(body.LongLength, after.Content.Headers.ContentLength);
        Assert.Equal("a=1\n" + new string('b', 600), await GnuTar.ReadMemberAsync(archive, "etc/config"));
    }

    [Fact]
    public async Task ATarThatGrewPastTheAnnouncedLengthFailsAsTheLayerChangingNotAsAFramingError()
    {
        _store.AddPatternFile("app", "data/later.bin", 1024 * 1024);
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();
        await client.GetByteArrayAsync(new Uri("/layers/app/tar", UriKind.Relative));

        // Early in the tar, and beyond what is held before the first flush: the overrun comes mid-transfer.
        await File.AppendAllBytesAsync(Path.Combine(_store.Root, "app", "diff", "data", "blob.bin"), new byte[4096]);

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetByteArrayAsync(new Uri("/layers/app/tar", UriKind.Relative)));
        var outcomes = await server.Logs.WaitForExportOutcomesAsync("app", 2);

        Assert.Contains(" failed", outcomes[1].MessageTemplate.Text, StringComparison.Ordinal);
        Assert.Contains("runs past the announced", outcomes[1].Exception?.Message, StringComparison.Ordinal);
        Assert.Contains("the layer changed on disk", outcomes[1].Exception?.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Logs.Events, static e => e.Exception?.Message.Contains("Content-Length mismatch", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task AZstdBodyThatWouldPassItsAnnouncedSizeBeforeAnyByteLeftIsALayerChangingProblem()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();
        var url = await CompressWellThenBadlyAsync(client, "zstd");

        // zstd's first output is already past the old size: nothing has left, so the answer can still be a problem.
        using var changed = await client.GetAsync(url);
        var problem = await ProblemAssert.IsProblemAsync(changed, HttpStatusCode.ServiceUnavailable);
        using var after = await client.GetAsync(url);
        await after.Content.ReadAsByteArrayAsync();

        Assert.Equal("urn:layer-export:problem:layer-changing", problem.GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        var failed = (await server.Logs.WaitForExportOutcomesAsync(Compressible, 2))[1];
        Assert.Equal("503", CapturedLogs.Property(failed, "ProblemStatus"));
        Assert.DoesNotContain(server.Logs.Events, static e => e.Exception?.Message.Contains("Content-Length mismatch", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task AGzipBodyThatRunsPastItsAnnouncedSizeFailsAsTheLayerChangingNotAsAFramingError()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();
        var url = await CompressWellThenBadlyAsync(client, "gzip");

        // The gzip header left with the first block: the transfer fails, under the export's own reason.
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetByteArrayAsync(url));
        using var after = await client.GetAsync(url);
        await after.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        var failed = (await server.Logs.WaitForExportOutcomesAsync(Compressible, 2))[1];
        Assert.Contains(" failed", failed.MessageTemplate.Text, StringComparison.Ordinal);
        Assert.Contains("runs past the announced", failed.Exception?.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Logs.Events, static e => e.Exception?.Message.Contains("Content-Length mismatch", StringComparison.Ordinal) == true);
    }

    // Zeros compress to almost nothing, the same length of noise does not: once the zeros' descriptor is known,
    // a download announces its size and the first compressed bytes of the noise pass it, long before the tar's end.
    private async Task<Uri> CompressWellThenBadlyAsync(HttpClient client, string compression)
    {
        const int length = 32 * 1024 * 1024;
        _store.AddLayer(Compressible).AddFile(Compressible, "data/zeros.bin", new byte[length]);
        var url = new Uri($"/layers/{Compressible}/tar?compression={compression}", UriKind.Relative);
        await client.GetByteArrayAsync(url);
        var noise = new byte[length];
        new Random(20261128).NextBytes(noise);
        await File.WriteAllBytesAsync(Path.Combine(_store.DiffPath(Compressible), "data", "zeros.bin"), noise);
        return url;
    }

    [Fact]
    public async Task AFileRewrittenWithItsOldLengthFailsTheDownloadThatAnnouncedTheOldDigestAndTheNextCarriesTheNewOne()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();
        var before = await client.GetAsync(new Uri("/layers/app/tar", UriKind.Relative));
        await before.Content.ReadAsByteArrayAsync();
        using (var announced = await client.GetAsync(new Uri("/layers/app/tar", UriKind.Relative)))
        {
            await announced.Content.ReadAsByteArrayAsync();
            Assert.True(announced.Headers.Contains("Docker-Content-Digest"));
        }

        await File.WriteAllTextAsync(Path.Combine(_store.Root, "app", "diff", "etc", "config"), "a=2\n");

        // The old digest goes out with the headers; the tar no longer has it, so the export fails before its end.
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetByteArrayAsync(new Uri("/layers/app/tar", UriKind.Relative)));
        using var after = await client.GetAsync(new Uri("/layers/app/tar", UriKind.Relative));
        var body = await after.Content.ReadAsByteArrayAsync();
        var archive = Path.Combine(_store.Root, "rewritten.tar");
        await File.WriteAllBytesAsync(archive, body);

        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.False(after.Headers.Contains("Docker-Content-Digest"));
        Assert.Equal("a=2\n", await GnuTar.ReadMemberAsync(archive, "etc/config"));
    }

    [Fact]
    public async Task ADownloadThatReadTheLayerChangedAtItsOldLengthLetsTheNextOneAnnounceTheDigestOfWhatItSent()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();
        await client.GetByteArrayAsync(new Uri("/layers/app/tar?compression=gzip", UriKind.Relative));
        await File.WriteAllTextAsync(Path.Combine(_store.Root, "app", "diff", "etc", "config"), "a=2\n");

        // The zstd download takes the gzip download's survey, of the layer before the change; no zstd digest is known
        // to announce and check, so it completes, with the changed file.
        var changed = await client.GetByteArrayAsync(new Uri("/layers/app/tar?compression=zstd", UriKind.Relative));
        using var next = await client.GetAsync(new Uri("/layers/app/tar?compression=zstd", UriKind.Relative));
        var body = await next.Content.ReadAsByteArrayAsync();

        Assert.Equal(changed, body);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body)), Assert.Single(next.Headers.GetValues("Docker-Content-Digest")));
    }
}
