using System.Net;
using LayerExport.TestSupport;
using SidecarTests.Infrastructure;

namespace SidecarTests;

/// <summary>If-Match, If-None-Match: * and a Range on HEAD are answered as RFC 9110 says, whether the digest was known or not, and on the JSON resources, which have no entity tag.</summary>
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

    public static TheoryData<string> JsonResources() => ["/layers", $"/layers/{LayerId}", $"/layers/{LayerId}/descriptor?compression=gzip"];

    // RFC 9110, section 13.2.1: an origin server evaluates If-Match and If-None-Match on every resource. The JSON ones
    // have no entity tag, so no tag can match: any tag in If-Match fails (412), If-None-Match: * finds the resource
    // there (304), and a list of tags holds (200).
    [Theory]
    [MemberData(nameof(JsonResources))]
    public async Task AJsonResourceHasNoEntityTagForIfMatchOrIfNoneMatchToName(string path)
    {
        var failed = await _client.FetchAsync(path, r => r.Headers.TryAddWithoutValidation("If-Match", OtherTag));
        var any = await _client.FetchAsync(path, r => r.Headers.TryAddWithoutValidation("If-Match", "*"));
        var notModified = await _client.FetchAsync(path, r => r.Headers.TryAddWithoutValidation("If-None-Match", "*"));
        var headNotModified = await _client.FetchAsync(HttpMethod.Head, path, r => r.Headers.TryAddWithoutValidation("If-None-Match", "*"));
        var noneMatch = await _client.FetchAsync(path, r => r.Headers.TryAddWithoutValidation("If-None-Match", OtherTag));

        Assert.Equal(HttpStatusCode.PreconditionFailed, failed.Status);
        Assert.Equal("application/problem+json", failed.ContentType);
        using (var problem = System.Text.Json.JsonDocument.Parse(failed.Body))
        {
            Assert.Equal("urn:layer-export:problem:precondition-failed", problem.RootElement.GetProperty("type").GetString());
        }

        Assert.Equal(HttpStatusCode.OK, any.Status);
        Assert.Equal(HttpStatusCode.NotModified, notModified.Status);
        Assert.Empty(notModified.Body);
        Assert.Equal(HttpStatusCode.NotModified, headNotModified.Status);
        Assert.Equal(HttpStatusCode.OK, noneMatch.Status);
        Assert.NotEmpty(noneMatch.Body);
    }

    // A missing layer is a 404 whatever the preconditions say (RFC 9110, section 13.2.1); a malformed one is a 400.
    [Fact]
    public async Task AMissingLayerIsNotFoundBeforeItsPreconditionsAndAMalformedOneIsRefused()
    {
        var missing = await _client.FetchAsync("/layers/missing", r => r.Headers.TryAddWithoutValidation("If-Match", OtherTag));
        var malformed = await _client.FetchAsync($"/layers/{LayerId}", r => r.Headers.TryAddWithoutValidation("If-None-Match", "*, " + OtherTag));

        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.Status);
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
