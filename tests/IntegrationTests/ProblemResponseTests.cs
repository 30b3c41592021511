using System.Net;
using System.Text;
using IntegrationTests.Support;
using LayerExport.Core.Native;
using LayerExport.Core.Store;
using LayerExportApi.Layers;
using Microsoft.AspNetCore.Http;

namespace IntegrationTests;

/// <summary>Every refusal is an RFC 7807 problem with a status, a title and a detail, and never a stack trace.</summary>
public sealed class ProblemResponseTests : IAsyncLifetime
{
    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("real")
        .AddFile("real", "etc/hostname", "real\n"u8.ToArray())
        .AddLayer("orphan", parent: "ghost")
        .AddLayer("loop-a", parent: "loop-b")
        .AddLayer("loop-b", parent: "loop-a")
        .AddLayerWithMetadata("bad-json", "{\"parent\": ");

    private ApiServer? _server;

    private ApiServer Server => _server ?? throw new InvalidOperationException("not started");

    public Task InitializeAsync()
    {
        _store.AddSymlinkedLayer("alias", Path.Combine(_store.Root, "real"));
        _server = ApiServer.Start(_store.Root);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _store.Dispose();
    }

    public static TheoryData<string> MalformedIds() =>
    [
        "/layers/.hidden",
        "/layers/.hidden/tar",
        "/layers/-dash",
        "/layers/a%2Fb",
        "/layers/a%2Fb/tar",
        "/layers/a%20b",
        "/layers/" + new string('a', 200),
        "/layers/" + new string('a', 200) + "/tar",
        "/layers/" + new string('a', 129),
    ];

    [Theory]
    [MemberData(nameof(MalformedIds))]
    public async Task AMalformedIdIsABadRequest(string target)
    {
        var response = await RawHttp.SendAsync(Server.BaseAddress, "GET", target);

        var problem = await ProblemAssert.IsProblemAsync(response.ToMessage(), HttpStatusCode.BadRequest);
        Assert.Contains("is not a layer ID", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // A client tells one problem from another by its type, not by the wording of its title.
        Assert.Equal("urn:layer-export:problem:invalid-layer-id", problem.GetProperty("type").GetString());
    }

    [Fact]
    public void AStoreThatCannotReadALayerForWantOfItsFscryptKeyCallsTheLayerUnreadable()
    {
        // The layer's walk says the same of it: a Describe and a download of one layer must not disagree on the type.
        const int ENOKEY = 126;
        var refusal = new LayerStoreCorruptException(
            "Layer 'app': layer.json cannot be opened (no key).",
            new NativeIOException(ENOKEY, "layer.json", NativeIOException.KeyNotLoaded));

        var problem = LayerProblems.For(refusal);

        Assert.Equal(
            (StatusCodes.Status500InternalServerError, "urn:layer-export:problem:layer-unreadable", refusal.Message),
            (problem.StatusCode, problem.ProblemDetails.Type, problem.ProblemDetails.Detail));
    }

    [Fact]
    public async Task TheLongestWellFormedIdIsLookedUpNotRejected()
    {
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri("/layers/" + new string('a', 128), UriKind.Relative));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("/layers/%00")]
    [InlineData("/layers/a%00b/tar")]
    public async Task ANulInTheIdIsABadRequestWithoutInternals(string target)
    {
        // Kestrel refuses a decoded NUL in the path itself, before any application code runs.
        var response = await RawHttp.SendAsync(Server.BaseAddress, "GET", target);

        Assert.Equal(400, response.Status);
        ProblemAssert.HasNoInternals(Encoding.UTF8.GetString(response.Body));
    }

    [Theory]
    [InlineData("/layers/..")]
    [InlineData("/layers/%2E%2E")]
    [InlineData("/layers/../tar")]
    [InlineData("/layers/%2e%2e/tar")]
    [InlineData("/layers/real/../../tar")]
    public async Task DotSegmentsAreResolvedBeforeRoutingAndNeverReachALayer(string target)
    {
        // Kestrel removes dot segments from the decoded path, so these name routes that do not exist.
        var response = await RawHttp.SendAsync(Server.BaseAddress, "GET", target);

        await ProblemAssert.IsProblemWithoutDetailAsync(response.ToMessage(), HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("GET", "/nothing", "text/html", HttpStatusCode.NotFound)]
    [InlineData("GET", "/nothing", "application/vnd.oci.image.layer.v1.tar", HttpStatusCode.NotFound)]
    [InlineData("POST", "/layers/real/tar", "application/vnd.oci.image.layer.v1.tar", HttpStatusCode.MethodNotAllowed)]
    [InlineData("DELETE", "/layers/real", "text/plain", HttpStatusCode.MethodNotAllowed)]
    [InlineData("POST", "/healthz", "text/plain", HttpStatusCode.MethodNotAllowed)]
    [InlineData("DELETE", "/readyz", "*/*", HttpStatusCode.MethodNotAllowed)]
    [InlineData("PUT", "/metrics", "text/plain", HttpStatusCode.MethodNotAllowed)]
    public async Task AFrameworkRefusalIsAProblemWhateverAcceptSays(string method, string target, string accept, HttpStatusCode status)
    {
        // An OCI client accepts only layer media types; the refusal must still be the problem every other one is.
        var response = await RawHttp.SendAsync(Server.BaseAddress, method, target, [("Accept", accept)]);

        await ProblemAssert.IsProblemWithoutDetailAsync(response.ToMessage(), status);
    }

    [Theory]
    [InlineData("/layers/missing/tar", "application/vnd.oci.image.layer.v1.tar", HttpStatusCode.NotFound)]
    [InlineData("/layers/real/tar", "text/html", HttpStatusCode.NotAcceptable)]
    [InlineData("/nothing", "application/vnd.oci.image.layer.v1.tar+gzip", HttpStatusCode.NotFound)]
    public async Task AProblemCarriesItsTraceIdWhateverAcceptSays(string target, string accept, HttpStatusCode status)
    {
        var response = await RawHttp.SendAsync(Server.BaseAddress, "GET", target, [("Accept", accept)]);

        // The trace ID is how an operator finds the request's log line.
        var problem = await ProblemAssert.IsProblemWithoutDetailAsync(response.ToMessage(), status);
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", problem.GetProperty("traceId").GetString());
    }

    // An OCI client's Accept leaves the problem to the fallback writer, which must keep the endpoint's own title.
    [Fact]
    public async Task ALayerProblemForAnOciClientKeepsItsOwnTitle()
    {
        var response = await RawHttp.SendAsync(Server.BaseAddress, "GET", "/layers/missing/tar", [("Accept", "application/vnd.oci.image.layer.v1.tar")]);

        var problem = await ProblemAssert.IsProblemAsync(response.ToMessage(), HttpStatusCode.NotFound);
        Assert.Equal("Layer not found", problem.GetProperty("title").GetString());
        Assert.Equal("urn:layer-export:problem:layer-not-found", problem.GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("/layers")]
    [InlineData("/layers/real")]
    [InlineData("/layers/real/descriptor")]
    [InlineData("/layers/real/tar")]
    public async Task EveryLayerEndpointAnswersHeadWithTheHeadersOfItsGet(string path)
    {
        using var client = Server.CreateClient();

        using var get = await client.GetAsync(new Uri(path, UriKind.Relative));
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri(path, UriKind.Relative)));

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(get.Content.Headers.ContentType?.MediaType, head.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("/layers/missing")]
    [InlineData("/layers/missing/tar")]
    public async Task AnUnknownLayerIsNotFound(string path)
    {
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Contains("'missing'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("urn:layer-export:problem:layer-not-found", problem.GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("/layers/alias")]
    [InlineData("/layers/alias/tar")]
    public async Task ALayerDirectoryThatIsASymlinkIsForbidden(string path)
    {
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Contains("symbolic link", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("urn:layer-export:problem:layer-refused", problem.GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("/layers/orphan", "Layer 'orphan' names parent 'ghost', which is not in the store.")]
    [InlineData("/layers/orphan/tar", "Layer 'orphan' names parent 'ghost', which is not in the store.")]
    [InlineData("/layers/loop-a", "The parent chain of layer 'loop-a' loops back to 'loop-a'.")]
    [InlineData("/layers/loop-b/tar", "The parent chain of layer 'loop-b' loops back to 'loop-b'.")]
    public async Task AnInconsistentStoreIsAServerErrorThatSaysWhy(string path, string detail)
    {
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.Equal(detail, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task UnreadableLayerMetadataIsAServerErrorWithoutTheParserInternals()
    {
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri("/layers/bad-json", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.StartsWith("Layer 'bad-json': layer.json is not valid JSON", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/layers/real/tar?parents=ghost", "parents", "parent, compression")]
    [InlineData("/layers/real/tar?compression=gzip&compresion=zstd", "compresion", "parent, compression")]
    [InlineData("/layers/real/descriptor?digest=sha256", "digest", "parent, compression")]
    [InlineData("/layers/real?parent=ghost", "parent", "no query parameters")]
    [InlineData("/layers?page=2", "page", "no query parameters")]
    public async Task AnUnknownQueryParameterIsABadRequestThatNamesTheKnownOnes(string target, string unknown, string known)
    {
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri(target, UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("urn:layer-export:problem:unknown-query-parameter", problem.GetProperty("type").GetString());
        var detail = problem.GetProperty("detail").GetString();
        Assert.Contains($"'{unknown}'", detail, StringComparison.Ordinal);
        Assert.Contains(known, detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QueryParameterNamesAreMatchedWithoutRegardToCase()
    {
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri("/layers/real/tar?Compression=gzip", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/vnd.oci.image.layer.v1.tar+gzip", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/nothing")]
    [InlineData("/layers/real/zip")]
    [InlineData("/layers/real/tar/more")]
    public async Task AnUnknownRouteIsANotFoundProblem(string path)
    {
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));

        await ProblemAssert.IsProblemWithoutDetailAsync(response, HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("Production")]
    [InlineData("Development")]
    public async Task AnUnexpectedFailureBeforeStreamingIsAProblemWithoutAStackTrace(string environment)
    {
        await using var server = ApiServer.Start(
            _store.Root,
            services => services.DecorateLayerStore(inner => new ExplodingLayerStore(inner)),
            environment);
        using var client = server.CreateClient();

        using var response = await client.GetAsync(new Uri("/layers/real/tar", UriKind.Relative));

        var body = await response.Content.ReadAsStringAsync();
        await ProblemAssert.IsProblemWithoutDetailAsync(response, HttpStatusCode.InternalServerError);
        Assert.DoesNotContain(ExplodingLayerStore.Secret, body, StringComparison.Ordinal);
    }
}
