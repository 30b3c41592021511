using System.Net;
using System.Text.Json;
using LayerExport.TestSupport;
using SidecarTests.Infrastructure;

namespace SidecarTests;

/// <summary>Byte ranges of the plain tar: 206 with the exact bytes, 416 past the end, If-Range against the digest ETag (of every representation once the digest is not known yet), resumable with curl.</summary>
public sealed class RangeTests : IDisposable
{
    private const string LayerId = "app";
    private static readonly string TarPath = Representation.Tar.TarPath(LayerId);
    private readonly TemporaryDirectory _work = new("range");
    private readonly NativeStoreBuilder _store;
    private readonly ApiServer _server;
    private readonly HttpClient _client;

    public RangeTests()
    {
        _store = new NativeStoreBuilder(_work.Combine("store"));
        _store.AddMixedLayer(LayerId);
        _server = new ApiServer(_store.Root, _work.Combine("digests"));
        _client = _server.CreateClient();
    }

    [Fact]
    public async Task PlainTarAdvertisesByteRanges()
    {
        var head = await _client.FetchAsync(HttpMethod.Head, TarPath);
        Assert.Equal(HttpStatusCode.OK, head.Status);
        Assert.Equal("bytes", head.Header("Accept-Ranges"));
    }

    [Theory]
    [InlineData("start")]
    [InlineData("middle")]
    [InlineData("end")]
    [InlineData("suffix")]
    [InlineData("open")]
    [InlineData("one-byte")]
    [InlineData("past-end")]
    [InlineData("last-past-64-bits")]
    [InlineData("suffix-past-64-bits")]
    public async Task RangeGetsExactlyThoseBytes(string where)
    {
        var full = await _client.GetOkBytesAsync(TarPath);
        long size = full.Length;
        var (header, first, last) = where switch
        {
            "start" => ("bytes=0-1023", 0L, 1023L),
            // Across header and data of several entries, at offsets that are not block aligned.
            "middle" => ("bytes=1000-3000999", 1000L, 3000999L),
            "end" => ($"bytes={size - 700}-{size - 1}", size - 700, size - 1),
            "suffix" => ("bytes=-1500", size - 1500, size - 1),
            "open" => ($"bytes={size - 5000}-", size - 5000, size - 1),
            "one-byte" => ("bytes=777-777", 777L, 777L),
            "past-end" => ($"bytes={size - 10}-{size + 1000}", size - 10, size - 1),
            "last-past-64-bits" => ("bytes=100-99999999999999999999999", 100L, size - 1),
            "suffix-past-64-bits" => ("bytes=-99999999999999999999999", 0L, size - 1),
            _ => throw new ArgumentOutOfRangeException(nameof(where)),
        };

        var partial = await _client.FetchAsync(TarPath, r => r.Headers.TryAddWithoutValidation("Range", header));

        Assert.Equal(HttpStatusCode.PartialContent, partial.Status);
        Assert.Equal($"bytes {first}-{last}/{size}", partial.ContentRange);
        Assert.Equal(last - first + 1, partial.ContentLength);
        Assert.Equal(full[(int)first..(int)(last + 1)], partial.Body);
    }

    [Theory]
    [InlineData("from-size")]
    [InlineData("far")]
    [InlineData("past-64-bits")]
    public async Task RangeBeyondTheEndIs416WithTheSize(string where)
    {
        var size = (await _client.GetOkBytesAsync(TarPath)).LongLength;
        var header = where switch
        {
            "from-size" => $"bytes={size}-",
            "far" => $"bytes={size + 1_000_000}-{size + 2_000_000}",
            _ => "bytes=99999999999999999999999-",
        };

        var refused = await _client.FetchAsync(TarPath, r => r.Headers.TryAddWithoutValidation("Range", header));

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, refused.Status);
        Assert.Equal($"bytes */{size}", refused.ContentRange);
        using var problem = JsonDocument.Parse(refused.Body);
        Assert.Equal("urn:layer-export:problem:range-not-satisfiable", problem.RootElement.GetProperty("type").GetString());
        Assert.Equal("Range not satisfiable", problem.RootElement.GetProperty("title").GetString());
        Assert.Equal($"The tar is {size} bytes long.", problem.RootElement.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task IfRangeWithTheCurrentETagHonoursTheRangeAndWithAnotherSendsEverything()
    {
        var full = await _client.GetOkBytesAsync(TarPath);
        var etag = (await _client.FetchAsync(HttpMethod.Head, TarPath)).ETag;
        Assert.Equal($"\"{Digests.Sha256(full)}\"", etag);

        var matching = await _client.FetchAsync(TarPath, r =>
        {
            r.Headers.TryAddWithoutValidation("Range", "bytes=100-199");
            r.Headers.TryAddWithoutValidation("If-Range", etag);
        });
        Assert.Equal(HttpStatusCode.PartialContent, matching.Status);
        Assert.Equal($"bytes 100-199/{full.Length}", matching.ContentRange);
        Assert.Equal(full[100..200], matching.Body);

        var stale = await _client.FetchAsync(TarPath, r =>
        {
            r.Headers.TryAddWithoutValidation("Range", "bytes=100-199");
            r.Headers.TryAddWithoutValidation("If-Range", "\"sha256:" + new string('f', 64) + "\"");
        });
        Assert.Equal(HttpStatusCode.OK, stale.Status);
        Assert.Null(stale.ContentRange);
        Assert.Equal(full, stale.Body);
    }

    // A resume after a restart that lost the digests (kept in memory only, or pruned) names, in If-Range, a digest the
    // server does not know yet: it is computed first, and the range is sent, not the whole body again. The compressed
    // bodies' case is here too: the If-Range is what is tested, whatever the representation.
    [Theory]
    [InlineData("none")]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task AnIfRangeNamingTheDigestOfAStateNotYetKnownIsAnsweredWithTheRange(string compression)
    {
        var path = Representation.Named(compression).TarPath(LayerId);
        var full = await _client.GetOkBytesAsync(path);
        using var restarted = new ApiServer(_store.Root, _work.Combine("digests-lost"));
        using var client = restarted.CreateClient();

        var resumed = await client.FetchAsync(path, r =>
        {
            r.Headers.TryAddWithoutValidation("Range", "bytes=100-");
            r.Headers.TryAddWithoutValidation("If-Range", $"\"{Digests.Sha256(full)}\"");
        });

        Assert.Equal(HttpStatusCode.PartialContent, resumed.Status);
        Assert.Equal($"bytes 100-{full.Length - 1}/{full.Length}", resumed.ContentRange);
        Assert.Equal(full[100..], resumed.Body);
    }

    [Fact]
    public async Task DownloadCutInTheMiddleIsResumedByCurlToTheSameBytes()
    {
        var full = await _client.GetOkBytesAsync(TarPath);
        var cut = full.Length / 3 + 123;
        var file = _work.Combine("download.tar");
        var head = await _client.FetchAsync(TarPath, r => r.Headers.TryAddWithoutValidation("Range", $"bytes=0-{cut - 1}"));
        Assert.Equal(HttpStatusCode.PartialContent, head.Status);
        await File.WriteAllBytesAsync(file, head.Body);

        var url = new Uri(_server.BaseAddress, TarPath).ToString();
        var curl = await ExternalTool.RunAsync("curl", "--silent", "--show-error", "--fail", "--noproxy", "*", "--continue-at", "-", "--output", file, "--write-out", "%{http_code} %{size_download}", url);

        curl.EnsureSuccess("curl --continue-at -");
        Assert.Equal($"206 {full.Length - cut}", System.Text.Encoding.ASCII.GetString(curl.Stdout));
        Assert.Equal(full, await File.ReadAllBytesAsync(file));
    }

    [Fact]
    public async Task MalformedRangeIsA400Problem()
    {
        var response = await _client.FetchAsync(TarPath, r => r.Headers.TryAddWithoutValidation("Range", "bytes=abc"));
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("application/problem+json", response.MediaType);
        using var problem = JsonDocument.Parse(response.Body);
        Assert.Equal("urn:layer-export:problem:malformed-range", problem.RootElement.GetProperty("type").GetString());
        Assert.Equal("Malformed Range header", problem.RootElement.GetProperty("title").GetString());

        // What to send instead, for whoever reads the problem.
        Assert.Equal("The Range header is not a byte range such as 'bytes=0-1023'.", problem.RootElement.GetProperty("detail").GetString());
    }

    public void Dispose()
    {
        _client.Dispose();
        _server.Dispose();
        _work.Dispose();
    }
}
