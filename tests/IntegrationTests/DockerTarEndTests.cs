using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using IntegrationTests.Support;
using LayerExport.Core.Tests.Support;

namespace IntegrationTests;

/// <summary>
/// Docker keeps a pulled layer's tar as Go's reader took it: one that stops after its last member (as registries of
/// Docker's first years served some) rebuilds to exactly those bytes, its diffID and no tar length recorded.
/// </summary>
public sealed class DockerTarEndTests : IAsyncLifetime
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("docker-tar-end-");
    private ApiServer? _server;
    private string _whole = "";
    private byte[] _wholeTar = [];
    private string _cut = "";
    private byte[] _cutTar = [];

    private ApiServer Server => _server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        (_whole, _wholeTar) = await DockerDataRoot.AddLayerAsync(_root.FullName, "whole", parent: null, static tar => tar[..^1024], "--format=gnu", "--blocking-factor=1");

        // A record that lost its end blocks beside the diffID of the whole tar: no download of it may look complete.
        (_cut, _cutTar) = await DockerDataRoot.AddLayerAsync(_root.FullName, "cut", parent: null, "--format=gnu", "--blocking-factor=1");
        var cutPath = Path.Combine(_root.FullName, "cut-record.tar");
        await File.WriteAllBytesAsync(cutPath, _cutTar[..^1024]);
        var record = Path.Combine(_root.FullName, $"image/overlay2/layerdb/sha256/{_cut}/tar-split.json.gz");
        await ExternalTool.RunCheckedAsync("tar-split", "disasm", "--no-stdout", "--output", record, cutPath);

        _server = ApiServer.Start(_root.FullName, settings: new Dictionary<string, string> { ["LayerStore:Layout"] = "docker" });
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        _root.Delete(recursive: true);
    }

    [Fact]
    public async Task ATarWithoutEndBlocksIsServedAsPulledWholeCompressedAndInRanges()
    {
        using var client = Server.CreateClient();
        var diffId = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(_wholeTar));

        using var plain = await client.GetAsync(new Uri($"/layers/{_whole}/tar", UriKind.Relative));
        using var gzip = await client.GetAsync(new Uri($"/layers/{_whole}/tar?compression=gzip", UriKind.Relative));
        using var rangeRequest = new HttpRequestMessage(HttpMethod.Get, new Uri($"/layers/{_whole}/tar", UriKind.Relative));
        rangeRequest.Headers.Range = new RangeHeaderValue(_wholeTar.Length - 700, null);
        using var range = await client.SendAsync(rangeRequest);

        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Equal(_wholeTar.Length, plain.Content.Headers.ContentLength);
        Assert.Equal(diffId, plain.Headers.GetValues("Docker-Content-Digest").Single());
        var archive = Path.Combine(_root.FullName, "downloaded.tar");
        await File.WriteAllBytesAsync(archive, await plain.Content.ReadAsByteArrayAsync());
        Assert.Equal(_wholeTar, await File.ReadAllBytesAsync(archive));
        Assert.Contains("./etc/config.txt", await GnuTar.ListNamesAsync(archive));
        await using (var gunzip = new GZipStream(await gzip.Content.ReadAsStreamAsync(), CompressionMode.Decompress))
        {
            using var tar = new MemoryStream();
            await gunzip.CopyToAsync(tar);
            Assert.Equal(_wholeTar, tar.ToArray());
        }

        Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
        Assert.Equal(_wholeTar[^700..], await range.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task ARecordCutShortFailsItsDownloadAndItsRangesAreAProblem()
    {
        using var client = Server.CreateClient();
        using var rangeRequest = new HttpRequestMessage(HttpMethod.Get, new Uri($"/layers/{_cut}/tar", UriKind.Relative));
        rangeRequest.Headers.Range = new RangeHeaderValue(0, 99);

        // An aborted body or, when nothing had left, a problem: GetByteArrayAsync throws for both.
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetByteArrayAsync(new Uri($"/layers/{_cut}/tar", UriKind.Relative)));
        using var range = await client.SendAsync(rangeRequest);

        var problem = await ProblemAssert.IsProblemAsync(range, HttpStatusCode.InternalServerError);
        Assert.Equal("urn:layer-export:problem:store-inconsistent", problem.GetProperty("type").GetString());
    }

    // A compressed body of a record cut short has no digest known before one export of it, which the diffID fails.
    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task ARecordCutShortFailsItsCompressedDownloadRangeAndDescriptor(string compression)
    {
        using var client = Server.CreateClient();
        var url = new Uri($"/layers/{_cut}/tar?compression={compression}", UriKind.Relative);
        using var rangeRequest = new HttpRequestMessage(HttpMethod.Get, url);
        rangeRequest.Headers.Range = new RangeHeaderValue(0, 99);

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetByteArrayAsync(url));
        using var range = await client.SendAsync(rangeRequest);
        using var descriptor = await client.GetAsync(new Uri($"/layers/{_cut}/descriptor?compression={compression}", UriKind.Relative));
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, url));

        await ProblemAssert.IsProblemAsync(range, HttpStatusCode.InternalServerError);
        await ProblemAssert.IsProblemAsync(descriptor, HttpStatusCode.InternalServerError);
        Assert.False(head.Headers.Contains("Docker-Content-Digest"));
        Assert.Null(head.Content.Headers.ContentLength);
    }

    // A record without end blocks is vouched for by the diffID alone, which only a whole export checks: before one did,
    // a HEAD announced the cut record's length under the whole tar's diffID, and If-None-Match took that diffID for
    // the state's. Both wait for the check, as a range and the descriptor do; a tar that is whole is still announced.
    [Theory]
    [InlineData("HEAD")]
    [InlineData("If-None-Match")]
    public async Task ARecordCutShortIsNotAnnouncedBeforeItsTarIsChecked(string request)
    {
        using var client = Server.CreateClient();
        var cutDiffId = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(_cutTar));
        var wholeDiffId = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(_wholeTar));

        using var cut = await client.SendAsync(Announcement(request, _cut, cutDiffId));
        using var whole = await client.SendAsync(Announcement(request, _whole, wholeDiffId));

        Assert.Equal(HttpStatusCode.InternalServerError, cut.StatusCode);
        Assert.False(cut.Headers.Contains("Docker-Content-Digest"));
        Assert.Equal(request == "HEAD" ? HttpStatusCode.OK : HttpStatusCode.NotModified, whole.StatusCode);
        Assert.Equal(wholeDiffId, whole.Headers.GetValues("Docker-Content-Digest").Single());
        if (request == "HEAD")
        {
            Assert.Equal(_wholeTar.Length, whole.Content.Headers.ContentLength);
        }
    }

    private static HttpRequestMessage Announcement(string request, string layer, string diffId)
    {
        var message = new HttpRequestMessage(request == "HEAD" ? HttpMethod.Head : HttpMethod.Get, new Uri($"/layers/{layer}/tar", UriKind.Relative));
        if (request == "If-None-Match")
        {
            message.Headers.IfNoneMatch.Add(new EntityTagHeaderValue($"\"{diffId}\""));
        }

        return message;
    }
}
