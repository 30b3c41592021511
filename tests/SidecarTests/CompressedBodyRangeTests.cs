using System.Net;
using LayerExport.TestSupport;
using SidecarTests.Infrastructure;

namespace SidecarTests;

/// <summary>
/// Byte ranges of the gzip and zstd bodies, once a complete export recorded their digest: offered only then,
/// 206 with the exact bytes, If-Range against the digest ETag, resumable with curl, never served for a changed layer.
/// </summary>
/// <remarks>The gzip body is entered at a block (decision 0008), the zstd body made again from its start (decision 0009).</remarks>
public sealed class CompressedBodyRangeTests : IDisposable
{
    private const string LayerId = "app";
    private readonly TemporaryDirectory _work = new("compressed-range");
    private readonly NativeStoreBuilder _store;
    private readonly ApiServer _server;
    private readonly HttpClient _client;

    public CompressedBodyRangeTests()
    {
        _store = new NativeStoreBuilder(_work.Combine("store"));
        _store.AddMixedLayer(LayerId);
        _server = new ApiServer(_store.Root, _work.Combine("digests"));
        _client = _server.CreateClient();
    }

    public static TheoryData<string> Compressed() => ["gzip", "zstd"];

    public static TheoryData<string, string> CompressedAndWhere() => new()
    {
        { "gzip", "start" }, { "gzip", "middle" }, { "gzip", "suffix" }, { "gzip", "last-byte" }, { "gzip", "one-byte" },
        { "zstd", "start" }, { "zstd", "middle" }, { "zstd", "suffix" }, { "zstd", "last-byte" }, { "zstd", "one-byte" },
    };

    [Theory]
    [MemberData(nameof(Compressed))]
    public async Task RangesAreOfferedOnceTheDigestIsKnownAndNotBefore(string compression)
    {
        var path = Representation.Named(compression).TarPath(LayerId);
        var before = await _client.FetchAsync(HttpMethod.Head, path);
        Assert.Null(before.Header("Accept-Ranges"));
        var ignored = await _client.FetchAsync(path, r => r.Headers.TryAddWithoutValidation("Range", "bytes=100-"));
        Assert.Equal(HttpStatusCode.OK, ignored.Status);

        var after = await _client.FetchAsync(HttpMethod.Head, path);

        Assert.Equal("bytes", after.Header("Accept-Ranges"));
        Assert.Equal(ignored.Body.Length, after.ContentLength);
    }

    [Theory]
    [MemberData(nameof(CompressedAndWhere))]
    public async Task RangeGetsExactlyThoseBytesOfTheBody(string compression, string where)
    {
        var representation = Representation.Named(compression);
        var full = await FullBodyAsync(representation);
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

        var partial = await _client.FetchAsync(representation.TarPath(LayerId), r => r.Headers.TryAddWithoutValidation("Range", header));

        Assert.Equal(HttpStatusCode.PartialContent, partial.Status);
        Assert.Equal($"bytes {first}-{last}/{size}", partial.ContentRange);
        Assert.Equal(representation.MediaType, partial.MediaType);
        Assert.Equal(full[(int)first..(int)(last + 1)], partial.Body);
    }

    [Theory]
    [MemberData(nameof(Compressed))]
    public async Task IfRangeWithTheDigestHonoursTheRangeAndWithAnotherSendsEverything(string compression)
    {
        var representation = Representation.Named(compression);
        var full = await FullBodyAsync(representation);
        var etag = $"\"{Digests.Sha256(full)}\"";

        var matching = await _client.FetchAsync(representation.TarPath(LayerId), r =>
        {
            r.Headers.TryAddWithoutValidation("Range", "bytes=2000000-");
            r.Headers.TryAddWithoutValidation("If-Range", etag);
        });
        var stale = await _client.FetchAsync(representation.TarPath(LayerId), r =>
        {
            r.Headers.TryAddWithoutValidation("Range", "bytes=2000000-");
            r.Headers.TryAddWithoutValidation("If-Range", "\"sha256:" + new string('f', 64) + "\"");
        });

        Assert.Equal(HttpStatusCode.PartialContent, matching.Status);
        Assert.Equal(full[2000000..], matching.Body);
        Assert.Equal(HttpStatusCode.OK, stale.Status);
        Assert.Equal(full, stale.Body);
    }

    [Theory]
    [MemberData(nameof(Compressed))]
    public async Task DownloadCutInTheMiddleIsResumedByCurlToTheSameBytesThatItsDecompressorAccepts(string compression)
    {
        var representation = Representation.Named(compression);
        var full = await FullBodyAsync(representation);
        var cut = (full.Length / 2) + 321;
        var file = _work.Combine("download" + representation.FileSuffix);
        await File.WriteAllBytesAsync(file, full[..cut]);

        var url = new Uri(_server.BaseAddress, representation.TarPath(LayerId)).ToString();
        var curl = await ExternalTool.RunAsync("curl", "--silent", "--show-error", "--fail", "--noproxy", "*", "--continue-at", "-", "--output", file, "--write-out", "%{http_code} %{size_download}", url);

        curl.EnsureSuccess("curl --continue-at -");
        Assert.Equal($"206 {full.Length - cut}", System.Text.Encoding.ASCII.GetString(curl.Stdout));
        Assert.Equal(full, await File.ReadAllBytesAsync(file));
        (await ExternalTool.RunAsync(compression, "--test", file)).EnsureSuccess($"{compression} --test");
    }

    [Theory]
    [MemberData(nameof(Compressed))]
    public async Task AChangedLayerGetsItsWholeNewBodyNeverARangeOfTheOldOne(string compression)
    {
        var representation = Representation.Named(compression);
        var old = await FullBodyAsync(representation);
        var text = Path.Combine(_store.Root, LayerId, "diff", "usr", "share", "text.log");
        var changed = await File.ReadAllBytesAsync(text);
        changed[10] ^= 0xFF;
        await File.WriteAllBytesAsync(text, changed);

        var response = await _client.FetchAsync(representation.TarPath(LayerId), r => r.Headers.TryAddWithoutValidation("Range", "bytes=1000-"));

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.NotEqual(old, response.Body);
        Assert.Equal(response.Body, await _client.GetOkBytesAsync(representation.TarPath(LayerId)));
    }

    public void Dispose()
    {
        _client.Dispose();
        _server.Dispose();
        _work.Dispose();
    }

    // A complete download records the body's descriptor (and the gzip body's block index), as a descriptor request does.
    private async Task<byte[]> FullBodyAsync(Representation representation)
    {
        var full = await _client.GetOkBytesAsync(representation.TarPath(LayerId));
        Assert.True(full.Length > 2_500_000, $"the {representation} body is {full.Length} bytes: too short for these ranges");
        return full;
    }
}
