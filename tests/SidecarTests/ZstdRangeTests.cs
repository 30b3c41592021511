using System.Net;
using LayerExport.TestSupport;
using SidecarTests.Infrastructure;

namespace SidecarTests;

/// <summary>
/// Byte ranges of the zstd body, once its digest is known: 206 with the exact bytes (the body is compressed again
/// from its start and cut), If-Range against the digest ETag, resumable with curl, never served for a changed layer.
/// </summary>
public sealed class ZstdRangeTests : IDisposable
{
    private const string LayerId = "app";
    private static readonly string ZstdPath = Representation.Zstd.TarPath(LayerId);
    private readonly TemporaryDirectory _work = new("zstd-range");
    private readonly NativeStoreBuilder _store;
    private readonly ApiServer _server;
    private readonly HttpClient _client;

    public ZstdRangeTests()
    {
        _store = new NativeStoreBuilder(_work.Combine("store"));
        _store.AddMixedLayer(LayerId);
        _server = new ApiServer(_store.Root, _work.Combine("digests"));
        _client = _server.CreateClient();
    }

    [Fact]
    public async Task RangesAreOfferedOnceTheDigestIsKnownAndNotBefore()
    {
        var before = await _client.FetchAsync(HttpMethod.Head, ZstdPath);
        Assert.Null(before.Header("Accept-Ranges"));
        var ignored = await _client.FetchAsync(ZstdPath, r => r.Headers.TryAddWithoutValidation("Range", "bytes=100-"));
        Assert.Equal(HttpStatusCode.OK, ignored.Status);

        var after = await _client.FetchAsync(HttpMethod.Head, ZstdPath);

        Assert.Equal("bytes", after.Header("Accept-Ranges"));
        Assert.Equal(ignored.Body.Length, after.ContentLength);
    }

    [Theory]
    [InlineData("start")]
    [InlineData("middle")]
    [InlineData("suffix")]
    [InlineData("last-byte")]
    [InlineData("one-byte")]
    public async Task RangeGetsExactlyThoseBytesOfTheZstdBody(string where)
    {
        var full = await FullBodyAsync();
        long size = full.Length;
        var (header, first, last) = where switch
        {
            "start" => ("bytes=0-1023", 0L, 1023L),
            "middle" => ("bytes=300000-1300999", 300000L, 1300999L),
            "suffix" => ("bytes=-1500", size - 1500, size - 1),
            "last-byte" => ($"bytes={size - 1}-", size - 1, size - 1),
            "one-byte" => ("bytes=777777-777777", 777777L, 777777L),
            _ => throw new ArgumentOutOfRangeException(nameof(where)),
        };

        var partial = await _client.FetchAsync(ZstdPath, r => r.Headers.TryAddWithoutValidation("Range", header));

        Assert.Equal(HttpStatusCode.PartialContent, partial.Status);
        Assert.Equal($"bytes {first}-{last}/{size}", partial.ContentRange);
        Assert.Equal(Representation.Zstd.MediaType, partial.MediaType);
        Assert.Equal(full[(int)first..(int)(last + 1)], partial.Body);
    }

    [Fact]
    public async Task IfRangeWithTheDigestHonoursTheRangeAndWithAnotherSendsEverything()
    {
        var full = await FullBodyAsync();
        var etag = $"\"{Digests.Sha256(full)}\"";

        var matching = await _client.FetchAsync(ZstdPath, r =>
        {
            r.Headers.TryAddWithoutValidation("Range", "bytes=2000000-");
            r.Headers.TryAddWithoutValidation("If-Range", etag);
        });
        var stale = await _client.FetchAsync(ZstdPath, r =>
        {
            r.Headers.TryAddWithoutValidation("Range", "bytes=2000000-");
            r.Headers.TryAddWithoutValidation("If-Range", "\"sha256:" + new string('f', 64) + "\"");
        });

        Assert.Equal(HttpStatusCode.PartialContent, matching.Status);
        Assert.Equal(full[2000000..], matching.Body);
        Assert.Equal(HttpStatusCode.OK, stale.Status);
        Assert.Equal(full, stale.Body);
    }

    [Fact]
    public async Task DownloadCutInTheMiddleIsResumedByCurlToTheSameBytesThatZstdAccepts()
    {
        var full = await FullBodyAsync();
        var cut = (full.Length / 2) + 321;
        var file = _work.Combine("download.tar.zst");
        await File.WriteAllBytesAsync(file, full[..cut]);

        var url = new Uri(_server.BaseAddress, ZstdPath).ToString();
        var curl = await ExternalTool.RunAsync("curl", "--silent", "--show-error", "--fail", "--noproxy", "*", "--continue-at", "-", "--output", file, "--write-out", "%{http_code} %{size_download}", url);

        curl.EnsureSuccess("curl --continue-at -");
        Assert.Equal($"206 {full.Length - cut}", System.Text.Encoding.ASCII.GetString(curl.Stdout));
        Assert.Equal(full, await File.ReadAllBytesAsync(file));
        (await ExternalTool.RunAsync("zstd", "--test", file)).EnsureSuccess("zstd --test");
    }

    [Fact]
    public async Task AChangedLayerGetsItsWholeNewBodyNeverARangeOfTheOldOne()
    {
        var old = await FullBodyAsync();
        var text = Path.Combine(_store.Root, LayerId, "diff", "usr", "share", "text.log");
        var changed = await File.ReadAllBytesAsync(text);
        changed[10] ^= 0xFF;
        await File.WriteAllBytesAsync(text, changed);

        var response = await _client.FetchAsync(ZstdPath, r => r.Headers.TryAddWithoutValidation("Range", "bytes=1000-"));

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.NotEqual(old, response.Body);
        Assert.Equal(response.Body, await _client.GetOkBytesAsync(ZstdPath));
    }

    public void Dispose()
    {
        _client.Dispose();
        _server.Dispose();
        _work.Dispose();
    }

    // A complete download records the body's descriptor, as a descriptor request does.
    private async Task<byte[]> FullBodyAsync()
    {
        var full = await _client.GetOkBytesAsync(ZstdPath);
        Assert.True(full.Length > 2_500_000, $"the zstd body is {full.Length} bytes: too short for these ranges");
        return full;
    }
}
