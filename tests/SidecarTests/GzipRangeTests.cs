using System.Net;
using LayerExport.TestSupport;
using SidecarTests.Infrastructure;

namespace SidecarTests;

/// <summary>
/// What is particular to the gzip body's ranges: starts inside its header, across its blocks, in its trailer, and
/// the block index kept across restarts. What every compressed body shares is in <see cref="CompressedBodyRangeTests"/>.
/// </summary>
public sealed class GzipRangeTests : IDisposable
{
    private const string LayerId = "app";
    private const long BlockSize = 1024 * 1024;
    private static readonly string GzipPath = Representation.Gzip.TarPath(LayerId);
    private readonly TemporaryDirectory _work = new("gzip-range");
    private readonly NativeStoreBuilder _store;
    private readonly ApiServer _server;
    private readonly HttpClient _client;

    public GzipRangeTests()
    {
        _store = new NativeStoreBuilder(_work.Combine("store"));
        _store.AddMixedLayer(LayerId);
        _server = new ApiServer(_store.Root, _work.Combine("digests"));
        _client = _server.CreateClient();
    }

    [Theory]
    [InlineData("inside-the-header")]
    [InlineData("across-blocks")]
    [InlineData("end")]
    [InlineData("trailer")]
    public async Task RangeGetsExactlyThoseBytesOfTheGzipBody(string where)
    {
        var full = await FullBodyAsync();
        long size = full.Length;
        var (header, first, last) = where switch
        {
            "inside-the-header" => ("bytes=4-", 4L, size - 1),

            // The layer's tar is several 1 MiB gzip blocks long: this range starts in one and ends in another.
            "across-blocks" => ("bytes=300000-1300999", 300000L, 1300999L),
            "end" => ($"bytes={size - 700}-{size - 1}", size - 700, size - 1),
            "trailer" => ($"bytes={size - 5}-", size - 5, size - 1),
            _ => throw new ArgumentOutOfRangeException(nameof(where)),
        };

        var partial = await _client.FetchAsync(GzipPath, r => r.Headers.TryAddWithoutValidation("Range", header));

        Assert.Equal(HttpStatusCode.PartialContent, partial.Status);
        Assert.Equal($"bytes {first}-{last}/{size}", partial.ContentRange);
        Assert.Equal(full[(int)first..(int)(last + 1)], partial.Body);
    }

    [Fact]
    public async Task AnotherServerProcessServesTheRangeFromTheCachedIndex()
    {
        var full = await FullBodyAsync();
        using var restarted = new ApiServer(_store.Root, _work.Combine("digests"));
        using var client = restarted.CreateClient();

        var partial = await client.FetchAsync(GzipPath, r => r.Headers.TryAddWithoutValidation("Range", "bytes=1048576-"));

        Assert.Equal(HttpStatusCode.PartialContent, partial.Status);
        Assert.Equal(full[1048576..], partial.Body);
    }

    [Fact]
    public async Task ARangeInTheLastBlockReadsOnlyTheFilesOfThatBlock()
    {
        // A server process of its own: what it reads (rchar) is its work alone. Compressing the body again from its
        // start, as a zstd range is made, would read every file of the layer.
        using var server = await ApiServerProcess.StartAsync(_store.Root, _work.Combine("digests-own"));
        using var client = server.CreateClient();
        var tarSize = (await client.FetchAsync(HttpMethod.Head, Representation.Tar.TarPath(LayerId))).ContentLength!.Value;
        var beforeWhole = server.ReadIoCounters();
        var full = await client.GetOkBytesAsync(GzipPath);
        var wholeRead = server.ReadIoCounters().ReadChars - beforeWhole.ReadChars;
        await client.FetchAsync(GzipPath, r => r.Headers.TryAddWithoutValidation("Range", $"bytes={full.Length - 200}-"));

        var before = server.ReadIoCounters();
        var partial = await client.FetchAsync(GzipPath, r => r.Headers.TryAddWithoutValidation("Range", $"bytes={full.Length - 100}-"));
        var rangeRead = server.ReadIoCounters().ReadChars - before.ReadChars;

        Assert.Equal(HttpStatusCode.PartialContent, partial.Status);
        Assert.Equal(full[^100..], partial.Body);
        Assert.True(tarSize > 3 * BlockSize, $"the tar is {tarSize} bytes: too few blocks to tell");
        Assert.True(wholeRead >= tarSize - (64 * 1024), $"the whole download read {wholeRead} bytes of a {tarSize}-byte tar: rchar does not count the server's file reads");
        Assert.True(rangeRead < 2 * BlockSize, $"a range in the last 1 MiB block read {rangeRead} bytes of a {tarSize}-byte tar");
    }

    public void Dispose()
    {
        _client.Dispose();
        _server.Dispose();
        _work.Dispose();
    }

    // A complete download indexes the body's blocks, as a descriptor request does.
    private async Task<byte[]> FullBodyAsync()
    {
        var full = await _client.GetOkBytesAsync(GzipPath);
        Assert.True(full.Length > 2_500_000, $"the gzip body is {full.Length} bytes: too few blocks for these ranges");
        return full;
    }
}
