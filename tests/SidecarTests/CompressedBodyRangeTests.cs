using System.Net;
using System.Text.Json;
using LayerExport.TestSupport;
using SidecarTests.Infrastructure;

namespace SidecarTests;

/// <summary>
/// Byte ranges of the gzip and zstd bodies: 206 with the exact bytes, the descriptor computed first when no complete
/// export recorded it, If-Range against the digest ETag, resumable with curl, never bytes of a changed layer's old body.
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
    public async Task ARangeBeforeAnyCompleteExportIsAnsweredWithThoseBytesOfTheBody(string compression)
    {
        var path = Representation.Named(compression).TarPath(LayerId);
        var before = await _client.FetchAsync(HttpMethod.Head, path);
        Assert.Equal("bytes", before.Header("Accept-Ranges"));
        Assert.Null(before.Header("ETag"));

        var partial = await _client.FetchAsync(path, r => r.Headers.TryAddWithoutValidation("Range", "bytes=100-"));
        var full = await FullBodyAsync(Representation.Named(compression));

        Assert.Equal(HttpStatusCode.PartialContent, partial.Status);
        Assert.Equal($"bytes 100-{full.Length - 1}/{full.Length}", partial.ContentRange);
        Assert.Equal(full[100..], partial.Body);
    }

    // The first download of a layer state is cut before its end, so no export of it ever completed: curl's resume
    // must still get the rest of that same body, not a 200 it cannot append (curl: "doesn't seem to support byte ranges").
    [Theory]
    [MemberData(nameof(Compressed))]
    public async Task TheFirstDownloadCutInTheMiddleIsResumedByCurl(string compression)
    {
        var representation = Representation.Named(compression);
        NativeStoreBuilder.WriteFile(Path.Combine(_store.Root, LayerId, "diff"), "usr/lib/large.bin", TestContent.Random(2, 48 * 1024 * 1024));
        var file = _work.Combine("first" + representation.FileSuffix);
        var url = new Uri(_server.BaseAddress, representation.TarPath(LayerId));
        using (var response = await _client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead))
        {
            await using var body = await response.Content.ReadAsStreamAsync();
            var cut = new byte[1024 * 1024];
            await body.ReadExactlyAsync(cut);
            await File.WriteAllBytesAsync(file, cut);
        }

        Assert.Null((await _client.FetchAsync(HttpMethod.Head, representation.TarPath(LayerId))).Header("ETag"));
        var curl = await ExternalTool.RunAsync("curl", "--silent", "--show-error", "--fail", "--noproxy", "*", "--continue-at", "-", "--output", file, "--write-out", "%{http_code}", url.ToString());

        curl.EnsureSuccess("curl --continue-at -");
        Assert.Equal("206", System.Text.Encoding.ASCII.GetString(curl.Stdout));
        Assert.Equal(await _client.GetOkBytesAsync(representation.TarPath(LayerId)), await File.ReadAllBytesAsync(file));
        (await ExternalTool.RunAsync(compression, "--test", file)).EnsureSuccess($"{compression} --test");
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

    // A resume past the end must learn the compressed body's length, not the tar's it is made from.
    [Theory]
    [MemberData(nameof(Compressed))]
    public async Task ARangeBeyondTheBodyIs416WithTheBodysSize(string compression)
    {
        var representation = Representation.Named(compression);
        var size = (await FullBodyAsync(representation)).Length;

        var refused = await _client.FetchAsync(representation.TarPath(LayerId), r => r.Headers.TryAddWithoutValidation("Range", $"bytes={size}-"));

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, refused.Status);
        Assert.Equal($"bytes */{size}", refused.ContentRange);
        Assert.Equal("application/problem+json", refused.MediaType);
        using var problem = JsonDocument.Parse(refused.Body);
        Assert.Equal("urn:layer-export:problem:range-not-satisfiable", problem.RootElement.GetProperty("type").GetString());
        Assert.Equal($"The {compression} body is {size} bytes long.", problem.RootElement.GetProperty("detail").GetString());
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
    public async Task AChangedLayerGetsARangeOfItsNewBodyNeverOfTheOldOne(string compression)
    {
        var representation = Representation.Named(compression);
        var old = await FullBodyAsync(representation);
        var text = Path.Combine(_store.Root, LayerId, "diff", "usr", "share", "text.log");
        var changed = await File.ReadAllBytesAsync(text);
        changed[10] ^= 0xFF;
        await File.WriteAllBytesAsync(text, changed);

        var response = await _client.FetchAsync(representation.TarPath(LayerId), r => r.Headers.TryAddWithoutValidation("Range", "bytes=1000-"));
        var current = await _client.GetOkBytesAsync(representation.TarPath(LayerId));

        Assert.Equal(HttpStatusCode.PartialContent, response.Status);
        Assert.Equal(current[1000..], response.Body);
        Assert.NotEqual(old[1000..], response.Body);
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
