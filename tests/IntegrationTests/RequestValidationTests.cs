using System.Net;
using IntegrationTests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace IntegrationTests;

/// <summary>Every input a request carries, malformed, gets a 4xx (an RFC 7807 problem where the API answers), never a 5xx.</summary>
public sealed class RequestValidationTests : IAsyncLifetime
{
    private const string Layer = "app";

    private readonly string _token = BearerTokens.NewToken();
    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("base")
        .AddFile("base", "etc/hostname", "base\n"u8.ToArray())
        .AddLayer(Layer, parent: "base")
        .AddFile(Layer, "etc/app.conf", "app\n"u8.ToArray());

    private ApiServer? _server;

    private ApiServer Server => _server ?? throw new InvalidOperationException("not started");

    public Task InitializeAsync()
    {
        _server = ApiServer.Start(_store.Root, settings: BearerTokens.Settings(_token));
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

    public static TheoryData<string, string, string, int, RefusedBy> MalformedRequests() => new()
    {
        // Path: the layer ID.
        { "/layers/a%2Fb/tar", "", "", 400, RefusedBy.App },
        { "/layers/-x/descriptor", "", "", 400, RefusedBy.App },
        { "/layers/%FF/tar", "", "", 400, RefusedBy.App },
        { "/layers/%C3%A9", "", "", 400, RefusedBy.App },
        { "/layers/" + new string('a', 300) + "/tar", "", "", 400, RefusedBy.App },
        { "/layers/..%2F..%2Fetc/tar", "", "", 400, RefusedBy.App },

        // Query: parents and compression.
        { "/layers/app/tar?parent=", "", "", 400, RefusedBy.App },
        { "/layers/app/tar?parent=../base", "", "", 400, RefusedBy.App },
        { "/layers/app/tar?parent=%00", "", "", 400, RefusedBy.App },
        { "/layers/app/tar?parent=base&parent=", "", "", 400, RefusedBy.App },
        { "/layers/app/descriptor?parent=..", "", "", 400, RefusedBy.App },
        { "/layers/app/tar?parent=" + new string('b', 5000), "", "", 400, RefusedBy.App },

        { "/layers/app/tar?compression=", "", "", 400, RefusedBy.App },
        { "/layers/app/tar?compression=brotli", "", "", 400, RefusedBy.App },
        { "/layers/app/tar?compression=gzip&compression=zstd", "", "", 400, RefusedBy.App },
        { "/layers/app/tar?compression=%00", "", "", 400, RefusedBy.App },
        { "/layers/app/descriptor?compression=tar", "", "", 400, RefusedBy.App },
        { "/layers/app/tar?parents=base", "", "", 400, RefusedBy.App },
        { "/layers/app/descriptor?compression=gzip&x", "", "", 400, RefusedBy.App },
        { "/layers/app/tar?%00=1", "", "", 400, RefusedBy.App },
        { "/layers/app?parent=base", "", "", 400, RefusedBy.App },
        { "/layers?limit=1", "", "", 400, RefusedBy.App },

        // Range.
        { "/layers/app/tar", "Range", "bytes=5-1", 400, RefusedBy.App },
        { "/layers/app/tar", "Range", "bytes=", 400, RefusedBy.App },
        { "/layers/app/tar", "Range", "bytes=x-y", 400, RefusedBy.App },
        { "/layers/app/tar", "Range", "bytes=999999999-", 416, RefusedBy.App },
        { "/layers/app/tar", "Range", "bytes=99999999999999999999999-", 416, RefusedBy.App },
        { "/layers/app/tar", "Range", "bytes=-0", 416, RefusedBy.App },

        // Conditionals.
        { "/layers/app/tar", "If-None-Match", "unquoted", 400, RefusedBy.App },
        { "/layers/app/tar", "If-None-Match", "\"unterminated", 400, RefusedBy.App },
        { "/layers/app/tar", "If-None-Match", "W/\"x\", *, garbage", 400, RefusedBy.App },
        { "/layers/app/tar", "If-Match", "unquoted", 400, RefusedBy.App },

        // "*" stands alone, and a weak tag's "W/" is followed at once by its quoted part (RFC 9110, section 8.8.3).
        { "/layers/app/tar", "If-None-Match", "*, \"x\"", 400, RefusedBy.App },
        { "/layers/app/tar", "If-Match", "*, *", 400, RefusedBy.App },
        { "/layers/app/tar", "If-Match", "W/ \"x\"", 400, RefusedBy.App },
        { "/layers/app/tar", "If-Match", "w/\"x\"", 400, RefusedBy.App },
        { "/layers/app/tar", "If-None-Match", "\"a\", w/\"b\"", 400, RefusedBy.App },

        // A parent past the longest ID, in a request line Kestrel takes (one of 9 KiB was refused by Kestrel until session 44).
        { "/layers/app/tar?parent=" + new string('b', 9000), "", "", 400, RefusedBy.App },

        // Accept.
        { "/layers/app/tar", "Accept", "/", 400, RefusedBy.App },
        { "/layers/app/tar", "Accept", ";;;", 400, RefusedBy.App },
        { "/layers/app/tar", "Accept", "*", 400, RefusedBy.App },
        { "/layers/app/tar", "Accept", "text/*", 406, RefusedBy.App },
        { "/layers/app/tar", "Accept", "*/*;q=0", 406, RefusedBy.App },

        // A path that decodes to a NUL, a request line past Kestrel's limit, bytes that are not ASCII in a header: Kestrel refuses the request itself.
        { "/layers/%00/tar", "", "", 400, RefusedBy.Kestrel },
        { "/layers/app/tar?parent=" + new string('b', 40_000), "", "", 414, RefusedBy.Kestrel },
        { "/layers/app/tar", "Accept", "\u00e9/x", 400, RefusedBy.Kestrel },
        { "/layers/app/tar", "Range", "bytes=\u00ff", 400, RefusedBy.Kestrel },
    };

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public async Task AMalformedInputIsAClientError(string target, string header, string value, int status, RefusedBy refuser)
    {
        List<(string, string)> headers = [("Authorization", "Bearer " + _token)];
        if (header.Length > 0)
        {
            headers.Add((header, value));
        }

        var response = await RawHttp.SendAsync(Server.BaseAddress, "GET", target, headers);

        Assert.True(response.Status == status, $"expected {status}, got {response.Status}: {System.Text.Encoding.UTF8.GetString(response.Body)}");
        if (refuser == RefusedBy.App)
        {
            await ProblemAssert.IsProblemWithoutDetailAsync(response.ToMessage(), (HttpStatusCode)status);
        }
        else
        {
            // Kestrel answers before any middleware runs, so a body would mean the app now sees the request and must answer with a problem.
            Assert.True(response.Body.Length == 0, $"Kestrel's own refusal carries a body: {System.Text.Encoding.UTF8.GetString(response.Body)}");
        }
    }

    public static TheoryData<string, string> IgnoredHeaders() => new()
    {
        // RFC 9110, section 14.2: a range unit the server does not know is ignored.
        { "Range", "items=0-1" },
        { "Range", "bytesx=0-1" },

        // RFC 9110, section 13.1.5: If-Range without a Range is ignored.
        { "If-Range", "garbage" },
        { "If-Range", "\"a\" \"b\"" },
    };

    [Theory]
    [MemberData(nameof(IgnoredHeaders))]
    public async Task AHeaderThatMeansNothingHereIsIgnored(string header, string value)
    {
        var response = await RawHttp.SendAsync(Server.BaseAddress, "GET", "/layers/app/tar", [("Authorization", "Bearer " + _token), (header, value)]);

        Assert.True(response.Status == 200, $"expected 200, got {response.Status}: {System.Text.Encoding.UTF8.GetString(response.Body)}");
    }

    // If-Range holds one entity tag or an HTTP-date, never "*" (RFC 9110, section 13.1.5).
    [Theory]
    [InlineData("garbage")]
    [InlineData("*")]
    [InlineData("W/ \"x\"")]
    [InlineData("w/\"x\"")]
    public async Task AMalformedIfRangeWithARangeIsAClientError(string ifRange)
    {
        var response = await RawHttp.SendAsync(Server.BaseAddress, "GET", "/layers/app/tar", [("Authorization", "Bearer " + _token), ("Range", "bytes=0-9"), ("If-Range", ifRange)]);

        Assert.Equal(400, response.Status);
        await ProblemAssert.IsProblemWithoutDetailAsync(response.ToMessage(), HttpStatusCode.BadRequest);
    }

    public static TheoryData<string, string, string> IfRangesOfRangesThatAreIgnored() => new()
    {
        // RFC 9110: HEAD ignores Range (section 14.2), and If-Range goes with it (section 13.1.5).
        { "HEAD", "bytes=0-1", "garbage" },

        // So does a range unit the server does not know.
        { "GET", "lines=0-1", "garbage" },

        // Section 13.2.2, step 5: an If-Range that does not match means the whole body, whatever the Range says.
        { "GET", "bytes=5-1", "\"other\"" },
    };

    [Theory]
    [MemberData(nameof(IfRangesOfRangesThatAreIgnored))]
    public async Task ARangeThatIsIgnoredIsNotJudgedNorIsItsIfRange(string method, string range, string ifRange)
    {
        var response = await RawHttp.SendAsync(Server.BaseAddress, method, "/layers/app/tar", [("Authorization", "Bearer " + _token), ("Range", range), ("If-Range", ifRange)]);

        Assert.True(response.Status == 200, $"expected 200, got {response.Status}: {System.Text.Encoding.UTF8.GetString(response.Body)}");
        Assert.False(response.Headers.ContainsKey("Content-Range"));
    }

    public static TheoryData<string> MalformedAuthorizations() =>
    [
        "Bearer",
        "Bearer \"quoted\"",
        "Bearer a b c",
        "Bearer " + new string('=', 4000),
    ];

    [Theory]
    [MemberData(nameof(MalformedAuthorizations))]
    public async Task AMalformedAuthorizationIs401OnEveryProtectedEndpoint(string authorization)
    {
        foreach (var (method, path) in EveryEndpoint().Where(e => e.Path is not ("/healthz" or "/readyz" or "/openapi/v1.json" or "/swagger/index.html")))
        {
            var response = await RawHttp.SendAsync(Server.BaseAddress, method, path, [("Authorization", authorization)]);

            Assert.True(response.Status == 401, $"{method} {path} answered {response.Status}");
            Assert.Equal("Bearer realm=\"layer-export\", error=\"invalid_token\"", response.Headers["WWW-Authenticate"]);
        }
    }

    public static TheoryData<string, string> MalformedHeaders() => new()
    {
        { "Range", "bytes=5-1" },
        { "Range", "bytes=0-1,,,;" },
        { "If-Range", "garbage" },
        { "If-None-Match", "garbage" },
        { "Accept", ";;;" },
        { "Accept", "application/vnd.oci.image.layer.v1.tar;q=abc" },
        { "Accept-Encoding", "%%%" },
        { "Content-Type", "not a type" },
        { "Cookie", "=;=;=" },
        { "X-Forwarded-For", "not an address" },
    };

    [Theory]
    [MemberData(nameof(MalformedHeaders))]
    public async Task NoEndpointAnswersAMalformedHeaderWithA5xx(string header, string value)
    {
        foreach (var (method, path) in EveryEndpoint())
        {
            var response = await RawHttp.SendAsync(Server.BaseAddress, method, path, [("Authorization", "Bearer " + _token), (header, value)]);

            Assert.True(response.Status < 500, $"{method} {path} with {header}: {value} answered {response.Status}");
        }
    }

    private List<(string Method, string Path)> EveryEndpoint()
    {
        var endpoints = Server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>();
        var requests = new List<(string, string)>();
        foreach (var endpoint in endpoints)
        {
            var path = endpoint.RoutePattern.RawText!.Replace("{id}", Layer, StringComparison.Ordinal).Replace("{documentName}", "v1", StringComparison.Ordinal).Replace("{**path}", "index.html", StringComparison.Ordinal);
            Assert.DoesNotContain("{", path, StringComparison.Ordinal);
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [HttpMethods.Get];
            requests.AddRange(methods.Select(method => (method, path.StartsWith('/') ? path : "/" + path)));
        }

        return requests;
    }

    /// <summary>Who refuses a malformed request: Kestrel answers with a bare status, the app with a problem.</summary>
    public enum RefusedBy
    {
        App,
        Kestrel,
    }
}
