using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using IntegrationTests.Support;
using LayerExportApi.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Events;

namespace IntegrationTests;

/// <summary>With token hashes configured, every endpoint but the health probes and the API documentation needs a bearer token that hashes to one of them.</summary>
public sealed class AuthenticationTests : IAsyncLifetime
{
    private const string Layer = "base";
    private static readonly string[] HealthPaths = ["/healthz", "/readyz"];
    private static readonly string[] PublicPaths = [.. HealthPaths, "/openapi/v1.json", "/swagger/index.html"];

    private readonly string _token = BearerTokens.NewToken();
    private readonly string _secondToken = BearerTokens.NewToken();
    private readonly string _unknownToken = BearerTokens.NewToken();
    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer(Layer)
        .AddFile(Layer, "etc/hostname", "base\n"u8.ToArray());

    private ApiServer? _server;

    private ApiServer Server => _server ?? throw new InvalidOperationException("not started");

    public Task InitializeAsync()
    {
        // Everything logged, down to Verbose and the framework's own categories, so the log check sees all there is.
        var settings = BearerTokens.Settings(_token, _secondToken);
        settings["Serilog:MinimumLevel:Default"] = "Verbose";
        settings["Serilog:MinimumLevel:Override:Microsoft.AspNetCore"] = "Verbose";
        settings["Serilog:MinimumLevel:Override:Microsoft.Hosting.Lifetime"] = "Verbose";
        settings["Serilog:MinimumLevel:Override:Microsoft.Extensions.Hosting.Internal.Host"] = "Verbose";
        _server = ApiServer.Start(_store.Root, settings: settings);
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

    [Fact]
    public async Task EveryEndpointButHealthAndDocumentationAnswers401WithAChallengeWithoutAToken()
    {
        using var client = Server.CreateClient();
        var requests = EveryEndpointRequest();
        Assert.Contains(requests, r => r.Path == "/metrics");
        Assert.Contains(requests, r => r.Path == $"/layers/{Layer}/tar" && r.Method == HttpMethod.Head);

        foreach (var (method, path) in requests)
        {
            using var response = await client.SendAsync(new HttpRequestMessage(method, path));
            if (PublicPaths.Contains(path))
            {
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method} {path} answered {(int)response.StatusCode}");
                continue;
            }

            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} answered {(int)response.StatusCode} without a token");
            Assert.Equal("Bearer realm=\"layer-export\"", Assert.Single(response.Headers.WwwAuthenticate).ToString());
            Assert.True(response.Headers.CacheControl?.NoStore, $"{method} {path} let a cache keep its 401");
            if (method != HttpMethod.Head)
            {
                var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
                Assert.Equal("urn:layer-export:problem:unauthorized", problem.GetProperty("type").GetString());
            }
        }
    }

    [Fact]
    public async Task PathsOutsideTheEndpointsNeedATokenToo()
    {
        using var client = Server.CreateClient();

        foreach (var path in (string[])["/nothing", "/layers/base/zip", "/swaggerx"])
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{path} answered {(int)response.StatusCode} without a token");
        }
    }

    [Fact]
    public async Task SwaggerUiAndTheOpenApiDocumentLoadWithoutATokenWhileTheLayersStillNeedOne()
    {
        using var client = Server.CreateClient();

        // What a browser fetches to show the UI, before anyone could have pressed its Authorize button.
        foreach (var path in (string[])["/swagger/index.html", "/swagger/index.js", "/swagger/index.css", "/swagger/swagger-ui.css", "/swagger/swagger-ui-bundle.js", "/swagger/swagger-ui-standalone-preset.js", "/openapi/v1.json"])
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} answered {(int)response.StatusCode} without a token");
        }

        using (var redirect = await client.GetAsync(new Uri("/swagger", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, redirect.StatusCode);
            Assert.Equal("/swagger/index.html", redirect.RequestMessage?.RequestUri?.AbsolutePath);
        }

        using var layers = await client.GetAsync(new Uri("/layers", UriKind.Relative));
        await ProblemAssert.IsProblemAsync(layers, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task EveryEndpointAnswersWithEitherConfiguredToken()
    {
        foreach (var token in (string[])[_token, _secondToken])
        {
            using var client = Server.CreateClient();
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            foreach (var (method, path) in EveryEndpointRequest())
            {
                using var response = await client.SendAsync(new HttpRequestMessage(method, path));

                // Swagger UI's stock initializer is mapped only to be an unknown path.
                var expected = path == "/swagger/swagger-initializer.js" ? HttpStatusCode.NotFound : HttpStatusCode.OK;
                Assert.True(response.StatusCode == expected, $"{method} {path} answered {(int)response.StatusCode} with a valid token: {await response.Content.ReadAsStringAsync()}");
            }
        }
    }

    public static TheoryData<string> RefusedCredentials() =>
    [
        "Bearer not-a-configured-token",
        "bearer not-a-configured-token",
        "Bearer",
        "Bearer    ",
        "Bearer " + new string('x', 6000),
    ];

    [Theory]
    [MemberData(nameof(RefusedCredentials))]
    public async Task APresentedButUnacceptedCredentialIsAnInvalidToken(string authorization)
    {
        using var client = Server.CreateClient();
        foreach (var (method, path) in EveryEndpointRequest().Where(r => !PublicPaths.Contains(r.Path)))
        {
            using var request = new HttpRequestMessage(method, path);
            Assert.True(request.Headers.TryAddWithoutValidation("Authorization", authorization));
            using var response = await client.SendAsync(request);

            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} answered {(int)response.StatusCode} to '{authorization[..Math.Min(20, authorization.Length)]}'");
            Assert.Equal("Bearer realm=\"layer-export\", error=\"invalid_token\"", Assert.Single(response.Headers.WwwAuthenticate).ToString());
            Assert.True(response.Headers.CacheControl?.NoStore, $"{method} {path} let a cache keep its 401");
            if (method != HttpMethod.Head)
            {
                var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
                Assert.Equal("urn:layer-export:problem:invalid-token", problem.GetProperty("type").GetString());
                Assert.Equal("Invalid token", problem.GetProperty("title").GetString());
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TwoAuthorizationHeadersAreRefusedEvenWhenOneIsValid(bool validFirst)
    {
        // As two header lines, which HttpClient would join into one; whichever comes first, neither is taken.
        (string, string)[] headers = [("Authorization", "Bearer " + _unknownToken), ("Authorization", "Bearer " + _token)];

        var response = await RawHttp.SendAsync(Server.BaseAddress, "GET", "/layers", validFirst ? headers.Reverse() : headers);

        using var message = response.ToMessage();
        var problem = await ProblemAssert.IsProblemAsync(message, HttpStatusCode.Unauthorized);
        Assert.Equal("urn:layer-export:problem:invalid-token", problem.GetProperty("type").GetString());
    }

    [Fact]
    public async Task OnlyARefusedBearerTokenIsLoggedAsAFailedAuthentication()
    {
        // The log says why a token was refused; a credential of another scheme is no token, so nothing failed.
        using var client = Server.CreateClient();
        foreach (var (path, authorization) in ((string, string)[])[("/layers", "Basic dXNlcjpwYXNz"), ($"/layers/{Layer}", "Bearer " + _unknownToken)])
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            Assert.True(request.Headers.TryAddWithoutValidation("Authorization", authorization));
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            await Server.Logs.WaitForRequestLoggedAsync(path);
        }

        var failure = Assert.Single(Server.Logs.Events, e => e.Properties.ContainsKey("FailureMessage"));
        Assert.Equal("The Authorization header does not hold an accepted bearer token.", CapturedLogs.Property(failure, "FailureMessage"));
    }

    [Fact]
    public async Task TheHostComparesHashesWithFixedTimeEquals()
    {
        var hashes = Server.Services.GetRequiredService<TokenHashes>();

        Assert.True(hashes.Enabled);
        Assert.Equal((TokenHashes.HashEquality)CryptographicOperations.FixedTimeEquals, hashes.Equality);
        Assert.True(hashes.Accepts(_token));
        Assert.False(hashes.Accepts(_unknownToken));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(-1)]
    public void EveryConfiguredHashIsComparedWhicheverMatches(int matching)
    {
        var tokens = new[] { BearerTokens.NewToken(), BearerTokens.NewToken(), BearerTokens.NewToken() };
        var compared = new List<(int Left, int Right)>();
        var hashes = new TokenHashes(tokens.Select(BearerTokens.Sha256Hex), (left, right) =>
        {
            compared.Add((left.Length, right.Length));
            return CryptographicOperations.FixedTimeEquals(left, right);
        });

        var accepted = hashes.Accepts(matching >= 0 ? tokens[matching] : "a much longer token than any configured one, which must not matter");

        Assert.Equal(matching >= 0, accepted);
        Assert.Equal([(32, 32), (32, 32), (32, 32)], compared);
    }

    [Fact]
    public void AHashConfiguredTwiceStillAcceptsItsToken()
    {
        // An operator may list a hash in two places, or once in each letter case: both name the same token.
        var token = BearerTokens.NewToken();
        var hash = BearerTokens.Sha256Hex(token);

        Assert.True(new TokenHashes([hash, hash]).Accepts(token));
        Assert.True(new TokenHashes([hash, hash.ToUpperInvariant(), BearerTokens.Sha256Hex(_token)]).Accepts(token));
    }

    [Fact]
    public async Task NeitherTokensNorTheirHashesReachTheLog()
    {
        using var client = Server.CreateClient();
        foreach (var token in (string[])[_token, _unknownToken])
        {
            foreach (var path in (string[])["/layers", $"/layers/{Layer}", $"/layers/{Layer}/tar", "/nothing", "/metrics", "/healthz"])
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                using var response = await client.SendAsync(request);
                await response.Content.ReadAsByteArrayAsync();
            }
        }

        using (var noToken = await client.GetAsync(new Uri("/layers", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);
        }

        await Server.Logs.WaitForExportOutcomeAsync(Layer, "completed");
        await Server.Logs.WaitForAsync(e => CapturedLogs.Property(e, "StatusCode") == "401" && CapturedLogs.Property(e, "RequestPath") == "/layers" && e.Properties.ContainsKey("Elapsed"), "the last 401 logged");

        var events = Server.Logs.Events;
        Assert.Contains(events, e => e.Level == LogEventLevel.Verbose || e.Level == LogEventLevel.Debug);
        var secrets = new[] { _token, _unknownToken, _secondToken }
            .SelectMany(t => new[] { t, BearerTokens.Sha256Hex(t), BearerTokens.Sha256Base64(t), BearerTokens.Sha256Hex(t).ToUpperInvariant() });
        foreach (var logEvent in events)
        {
            var text = string.Join("\n", [logEvent.RenderMessage(), .. logEvent.Properties.Select(p => $"{p.Key}={p.Value}"), logEvent.Exception?.ToString() ?? ""]);
            foreach (var secret in secrets)
            {
                Assert.False(text.Contains(secret, StringComparison.OrdinalIgnoreCase), $"a token or its hash is in the log: {logEvent.RenderMessage()}");
            }
        }
    }

    [Fact]
    public async Task TheOpenApiDocumentDeclaresTheBearerScheme()
    {
        using var client = Server.CreateClient();

        using var document = JsonDocument.Parse(await client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)));

        var scheme = document.RootElement.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        Assert.Equal("http", scheme.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString());
        Assert.Contains("Authentication:TokenSha256Hashes", scheme.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryOperationThatNeedsATokenListsTheRequirementAndItsDocumented401()
    {
        using var client = Server.CreateClient();
        using var document = JsonDocument.Parse(await client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)));
        using var refused = await client.GetAsync(new Uri("/layers", UriKind.Relative));
        var challenge = refused.Headers.Select(h => h.Key).Where(h => h is "WWW-Authenticate" or "Cache-Control").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["Cache-Control", "WWW-Authenticate"], challenge);

        var operations = document.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(o => (Path: path.Name, Method: o.Name, Operation: o.Value)))
            .ToList();
        Assert.Contains(operations, o => o.Path == "/healthz");
        Assert.True(document.RootElement.GetProperty("components").GetProperty("schemas").TryGetProperty("ProblemDetails", out _), "the schema every 401 refers to is not in the document");
        foreach (var (path, method, operation) in operations)
        {
            var responses = operation.GetProperty("responses");

            // With tokens the loopback host check never answers, so no operation lists its 421.
            Assert.False(responses.TryGetProperty("421", out _), $"{method} {path} lists 421 while tokens are configured");
            if (HealthPaths.Contains(path))
            {
                Assert.False(operation.TryGetProperty("security", out _), $"{method} {path} needs no token");
                Assert.False(responses.TryGetProperty("401", out _), $"{method} {path} never answers 401");
                continue;
            }

            var requirement = Assert.Single(operation.GetProperty("security").EnumerateArray());
            Assert.Equal(0, requirement.GetProperty("Bearer").GetArrayLength());
            Assert.True(responses.EnumerateObject().Any(r => r.Name.StartsWith('2')), $"{method} {path} lost its success responses to the 401");
            var unauthorized = responses.GetProperty("401");
            Assert.Contains("bearer token", unauthorized.GetProperty("description").GetString(), StringComparison.Ordinal);
            var headers = unauthorized.GetProperty("headers");
            Assert.Equal(challenge, headers.EnumerateObject().Select(h => h.Name).Order(StringComparer.Ordinal));
            Assert.All(headers.EnumerateObject(), h => Assert.Equal("string", h.Value.GetProperty("schema").GetProperty("type").GetString()));
            Assert.Contains("realm=\"layer-export\"", headers.GetProperty("WWW-Authenticate").GetProperty("description").GetString(), StringComparison.Ordinal);
            Assert.Equal("no-store", headers.GetProperty("Cache-Control").GetProperty("description").GetString());
            Assert.Equal(method != "head", unauthorized.TryGetProperty("content", out var content) && content.TryGetProperty(ProblemAssert.MediaType, out _));
        }
    }

    // Every route the host maps, with each of its methods and its parameters filled in, so a new endpoint is covered here by itself.
    private List<(HttpMethod Method, string Path)> EveryEndpointRequest()
    {
        var endpoints = Server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>();
        var requests = new List<(HttpMethod, string)>();
        foreach (var endpoint in endpoints)
        {
            var path = "/" + string.Join("/", endpoint.RoutePattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
            {
                Microsoft.AspNetCore.Routing.Patterns.RoutePatternLiteralPart literal => literal.Content,
                Microsoft.AspNetCore.Routing.Patterns.RoutePatternSeparatorPart separator => separator.Content,
                Microsoft.AspNetCore.Routing.Patterns.RoutePatternParameterPart { Name: "id" } => Layer,
                Microsoft.AspNetCore.Routing.Patterns.RoutePatternParameterPart { Name: "documentName" } => "v1",
                Microsoft.AspNetCore.Routing.Patterns.RoutePatternParameterPart { Name: "path" } => "index.html",
                Microsoft.AspNetCore.Routing.Patterns.RoutePatternParameterPart parameter => throw new InvalidOperationException(
                    $"{endpoint.DisplayName} has a parameter '{parameter.Name}' this test has no value for; add one."),
                _ => throw new InvalidOperationException($"unknown route part in {endpoint.DisplayName}"),
            }))));
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [HttpMethods.Get];
            requests.AddRange(methods.Select(method => (new HttpMethod(method), path)));
        }

        Assert.True(requests.Count >= 8, $"only {requests.Count} endpoint requests: {string.Join(", ", requests)}");
        return requests;
    }
}
