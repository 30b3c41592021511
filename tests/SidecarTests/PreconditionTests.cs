using System.Net;
using LayerExport.TestSupport;
using SidecarTests.Infrastructure;

namespace SidecarTests;

/// <summary>If-Match, If-None-Match: * and a Range on HEAD are answered as RFC 9110 says, whether the digest was known or not.</summary>
public sealed class PreconditionTests : IDisposable
{
    private const string LayerId = "app";
    private static readonly string OtherTag = "\"sha256:" + new string('0', 64) + "\"";

    private readonly TemporaryDirectory _work = new("preconditions");
    private readonly string _store;
    private readonly ApiServer _server;
    private readonly HttpClient _client;

    public PreconditionTests()
    {
        var store = new NativeStoreBuilder(_work.Combine("store"));
        store.AddMixedLayer(LayerId);
        _store = store.Root;
        _server = new ApiServer(_store, _work.Combine("digests"));
        _client = _server.CreateClient();
    }

    [Theory]
    [InlineData("none")]
    [InlineData("zstd")]
    public async Task IfMatchWithTheDigestGetsTheBodyEvenBeforeTheDigestWasKnown(string compression)
    {
        var path = Representation.Named(compression).TarPath(LayerId);
        var descriptor = await DescriptorDigestAsync(compression);

        // The descriptor was computed on another server: this one has not seen the layer yet.
        using var fresh = new ApiServer(_store, _work.Combine("fresh-digests"));
        using var client = fresh.CreateClient();
        var matched = await client.FetchAsync(path, r => r.Headers.TryAddWithoutValidation("If-Match", $"\"{descriptor}\""));

        Assert.Equal(HttpStatusCode.OK, matched.Status);
        Assert.Equal(descriptor, matched.BodyDigest);
        DigestHeaders.AssertAnnounced(matched, descriptor, matched.Body.LongLength);
    }

    [Theory]
    [InlineData("none", "tar")]
    [InlineData("gzip", "gzip body")]
    public async Task IfMatchWithAnotherTagIsA412ProblemThatNamesTheCurrentTag(string compression, string name)
    {
        var response = await _client.FetchAsync(Representation.Named(compression).TarPath(LayerId), r => r.Headers.TryAddWithoutValidation("If-Match", OtherTag));

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.Status);
        Assert.Equal("application/problem+json", response.MediaType);
        using var problem = System.Text.Json.JsonDocument.Parse(response.Body);
        Assert.Equal("urn:layer-export:problem:precondition-failed", problem.RootElement.GetProperty("type").GetString());
        Assert.Equal("Precondition failed", problem.RootElement.GetProperty("title").GetString());

        // The client learns the tag that would have matched (computed for the If-Match) without another request.
        var descriptor = await DescriptorDigestAsync(compression);
        Assert.Equal($"If-Match names no entity tag of this {name}; its ETag is \"{descriptor}\".", problem.RootElement.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task IfMatchStarGetsTheBody()
    {
        var response = await _client.FetchAsync(Representation.Tar.TarPath(LayerId), r => r.Headers.TryAddWithoutValidation("If-Match", "*"));

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.NotEmpty(response.Body);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("zstd")]
    public async Task IfNoneMatchStarIsNotModifiedEvenBeforeTheDigestIsKnown(string compression)
    {
        var response = await _client.FetchAsync(Representation.Named(compression).TarPath(LayerId), r => r.Headers.TryAddWithoutValidation("If-None-Match", "*"));

        Assert.Equal(HttpStatusCode.NotModified, response.Status);
        Assert.Empty(response.Body);
    }

    [Fact]
    public async Task HeadWithARangeAnswersAsTheWholeGetWould()
    {
        var path = Representation.Tar.TarPath(LayerId);
        var whole = await _client.FetchAsync(HttpMethod.Head, path);
        var ranged = await _client.FetchAsync(HttpMethod.Head, path, r => r.Headers.TryAddWithoutValidation("Range", "bytes=0-9"));

        Assert.Equal(HttpStatusCode.OK, ranged.Status);
        Assert.Equal(whole.ContentLength, ranged.ContentLength);
        Assert.Null(ranged.ContentRange);
    }

    public void Dispose()
    {
        _client.Dispose();
        _server.Dispose();
        _work.Dispose();
    }

    private async Task<string> DescriptorDigestAsync(string compression)
    {
        using var document = System.Text.Json.JsonDocument.Parse(await _client.GetOkBytesAsync($"/layers/{LayerId}/descriptor?compression={compression}"));
        return document.RootElement.GetProperty("digest").GetString()!;
    }
}
