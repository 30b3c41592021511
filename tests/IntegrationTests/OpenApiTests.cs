using System.Net;
using System.Text.Json;
using IntegrationTests.Support;
using Swashbuckle.AspNetCore.SwaggerUI;

namespace IntegrationTests;

/// <summary>The OpenAPI document and the Swagger UI that reads it.</summary>
public sealed class OpenApiTests : IAsyncLifetime
{
    private readonly TempLayerStore _store = TempLayerStore.Create().AddLayer("base");
    private ApiServer? _server;

    private ApiServer Server => _server ?? throw new InvalidOperationException("not started");

    public Task InitializeAsync()
    {
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

    public static TheoryData<string, string, int[]> Operations() => new()
    {
        { "/layers", "get", [421, 500, 503] },
        { "/layers", "head", [421, 500, 503] },
        { "/layers/{id}", "get", [400, 403, 404, 421, 500] },
        { "/layers/{id}", "head", [400, 403, 404, 421, 500] },
        { "/layers/{id}/tar", "get", [400, 403, 404, 406, 409, 412, 416, 421, 500, 503] },
        { "/layers/{id}/tar", "head", [400, 403, 404, 406, 409, 412, 421, 500, 503] },
        { "/layers/{id}/descriptor", "get", [400, 403, 404, 409, 421, 500, 503] },
        { "/layers/{id}/descriptor", "head", [400, 403, 404, 409, 421, 500, 503] },
        { "/healthz", "get", [421] },
        { "/healthz", "head", [421] },
        { "/readyz", "get", [421, 503] },
        { "/readyz", "head", [421, 503] },
    };

    public static TheoryData<string> PathsWithHead() => ["/layers", "/layers/{id}", "/layers/{id}/tar", "/layers/{id}/descriptor", "/healthz", "/readyz"];

    [Fact]
    public async Task DocumentHasExactlyTheApiPathsAndTheirOperations()
    {
        var document = await DocumentAsync();

        var operations = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Where(o => o.Name is not "parameters").Select(o => $"{o.Name} {path.Name}"))
            .Order(StringComparer.Ordinal);
        Assert.Equal(
            ["get /healthz", "get /layers", "get /layers/{id}", "get /layers/{id}/descriptor", "get /layers/{id}/tar", "get /readyz", "head /healthz", "head /layers", "head /layers/{id}", "head /layers/{id}/descriptor", "head /layers/{id}/tar", "head /readyz"],
            operations);
    }

    [Fact]
    public async Task OperationIdsAreUniqueAndSummariesAreTheEndpointsOwn()
    {
        var document = await DocumentAsync();
        var operations = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Where(o => o.Name is not "parameters").Select(o => o.Value))
            .ToList();

        var ids = operations.Select(o => o.GetProperty("operationId").GetString()).ToList();
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.Contains("ExportLayerTarHead", ids);
        var tar = document.GetProperty("paths").GetProperty("/layers/{id}/tar").GetProperty("get");
        Assert.Equal("Download a layer as an OCI layer tar.", tar.GetProperty("summary").GetString());
    }

    // Generated clients name their methods after the operation IDs: renaming one breaks every client built before.
    [Fact]
    public async Task EachOperationKeepsItsOperationId()
    {
        var document = await DocumentAsync();

        var ids = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Where(o => o.Name is not "parameters").Select(o => $"{o.Name} {path.Name} {o.Value.GetProperty("operationId").GetString()}"))
            .Where(o => o.Contains(" /layers", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        Assert.Equal(
            [
                "get /layers ListLayers", "get /layers/{id} DescribeLayer", "get /layers/{id}/descriptor DescribeLayerRepresentation",
                "get /layers/{id}/tar ExportLayerTar", "head /layers ListLayersHead", "head /layers/{id} DescribeLayerHead",
                "head /layers/{id}/descriptor DescribeLayerRepresentationHead", "head /layers/{id}/tar ExportLayerTarHead",
            ],
            ids);
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task EveryOperationHasASummaryAndItsProblemResponses(string path, string method, int[] problemStatuses)
    {
        var document = await DocumentAsync();
        var operation = document.GetProperty("paths").GetProperty(path).GetProperty(method);

        Assert.False(string.IsNullOrWhiteSpace(operation.GetProperty("summary").GetString()));
        var responses = operation.GetProperty("responses");
        foreach (var status in problemStatuses)
        {
            var response = responses.GetProperty(status.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (method == "head")
            {
                Assert.False(response.TryGetProperty("content", out _), $"{method} {path} {status} has a body");
                continue;
            }

            Assert.True(response.GetProperty("content").TryGetProperty(ProblemAssert.MediaType, out _), $"{method} {path} {status} is not a problem response");
        }
    }

    [Theory]
    [MemberData(nameof(PathsWithHead))]
    public async Task AHeadOperationIsItsGetWithoutRangeAndWithoutBody(string path)
    {
        var document = await DocumentAsync();
        var get = document.GetProperty("paths").GetProperty(path).GetProperty("get");
        var head = document.GetProperty("paths").GetProperty(path).GetProperty("head");

        // HEAD answers as the whole GET would (RFC 9110): Range and If-Range are ignored, so there is no 206 or 416.
        Assert.Equal(
            Parameters(get).Where(p => p is not "header Range" and not "header If-Range"),
            Parameters(head));
        var getResponses = get.GetProperty("responses");
        var headResponses = head.GetProperty("responses");
        Assert.Equal(
            getResponses.EnumerateObject().Select(r => r.Name).Where(s => s is not "206" and not "416").Order(StringComparer.Ordinal),
            headResponses.EnumerateObject().Select(r => r.Name).Order(StringComparer.Ordinal));
        foreach (var response in headResponses.EnumerateObject())
        {
            Assert.False(response.Value.TryGetProperty("content", out _), $"HEAD {path} {response.Name} has a body");
            Assert.Equal(Headers(getResponses.GetProperty(response.Name)), Headers(response.Value));
        }
    }

    [Fact]
    public async Task WithoutTokensNoOperationNeedsOneOrLists401()
    {
        var document = await DocumentAsync();

        Assert.False(document.TryGetProperty("security", out _));
        Assert.False(document.GetProperty("components").TryGetProperty("securitySchemes", out _));
        foreach (var operation in document.GetProperty("paths").EnumerateObject().SelectMany(p => p.Value.EnumerateObject()))
        {
            Assert.False(operation.Value.TryGetProperty("security", out _), $"{operation.Value.GetProperty("operationId")} has a security requirement");
            Assert.False(operation.Value.GetProperty("responses").TryGetProperty("401", out _), $"{operation.Value.GetProperty("operationId")} lists 401");
        }
    }

    [Fact]
    public async Task TheHealthProbesAreDocumentedAsTheyAnswer()
    {
        var document = await DocumentAsync();
        using var client = Server.CreateClient();

        foreach (var path in (string[])["/healthz", "/readyz"])
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var ok = document.GetProperty("paths").GetProperty(path).GetProperty("get").GetProperty("responses").GetProperty("200");
            var mediaType = Assert.Single(ok.GetProperty("content").EnumerateObject());
            Assert.Equal(response.Content.Headers.ContentType?.MediaType, mediaType.Name);
            Assert.Equal(await response.Content.ReadAsStringAsync(), mediaType.Value.GetProperty("example").GetString());
        }
    }

    // The probes are read-only resources like every endpoint: HEAD answers, so the document must offer it.
    [Fact]
    public async Task TheHealthProbesAnswerHeadAsTheDocumentSays()
    {
        var document = await DocumentAsync();
        using var client = Server.CreateClient();

        foreach (var path in (string[])["/healthz", "/readyz"])
        {
            using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri(path, UriKind.Relative)));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Empty(await response.Content.ReadAsByteArrayAsync());
            var head = document.GetProperty("paths").GetProperty(path).GetProperty("head");
            Assert.False(head.GetProperty("responses").GetProperty("200").TryGetProperty("content", out _), $"HEAD {path} 200 has a body");
        }
    }

    [Theory]
    [InlineData("200")]
    [InlineData("206")]
    public async Task TheTarResponseIsABinaryOciLayerInEachRepresentation(string status)
    {
        var document = await DocumentAsync();
        var ok = document.GetProperty("paths").GetProperty("/layers/{id}/tar").GetProperty("get").GetProperty("responses").GetProperty(status);

        var content = ok.GetProperty("content");
        Assert.Equal(
            ["application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar+zstd"],
            content.EnumerateObject().Select(c => c.Name).Order(StringComparer.Ordinal));
        foreach (var mediaType in content.EnumerateObject())
        {
            var schema = Resolve(document, mediaType.Value.GetProperty("schema"));
            Assert.Equal("string", schema.GetProperty("type").GetString());
            Assert.Equal("binary", schema.GetProperty("format").GetString());
        }
    }

    [Fact]
    public async Task TheTarOperationNamesItsHeadersAndTheCompressionValues()
    {
        var document = await DocumentAsync();
        var tar = document.GetProperty("paths").GetProperty("/layers/{id}/tar").GetProperty("get");

        var parameters = tar.GetProperty("parameters").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!, p => p);
        foreach (var header in (string[])["Range", "If-Range", "If-None-Match", "If-Match"])
        {
            Assert.Equal("header", parameters[header].GetProperty("in").GetString());
        }

        Assert.Equal(["none", "gzip", "zstd"], parameters["compression"].GetProperty("schema").GetProperty("enum").EnumerateArray().Select(v => v.GetString()));
        var responses = tar.GetProperty("responses");
        Assert.Equal(["Accept-Ranges", "Content-Disposition", "Content-Length", "Docker-Content-Digest", "ETag", "Trailer", "Vary"], Headers(responses.GetProperty("200")));
        Assert.Equal(["Accept-Ranges", "Content-Disposition", "Content-Length", "Content-Range", "Docker-Content-Digest", "ETag", "Vary"], Headers(responses.GetProperty("206")));
        Assert.Equal(["Docker-Content-Digest", "ETag", "Vary"], Headers(responses.GetProperty("304")));
        Assert.Equal(["Content-Range"], Headers(responses.GetProperty("416")));
        Assert.Equal(["Retry-After"], Headers(responses.GetProperty("503")));
    }

    [Theory]
    [MemberData(nameof(PathsWithHead))]
    public async Task OnlyTheLayerIdIsARequiredParameter(string path)
    {
        var document = await DocumentAsync();

        // Swagger UI's "Try it out" will not send a request without every required parameter filled in.
        foreach (var method in (string[])["get", "head"])
        {
            var operation = document.GetProperty("paths").GetProperty(path).GetProperty(method);
            var required = operation.TryGetProperty("parameters", out var parameters)
                ? parameters.EnumerateArray().Where(p => p.TryGetProperty("required", out var r) && r.GetBoolean()).Select(p => $"{p.GetProperty("in").GetString()} {p.GetProperty("name").GetString()}").ToList()
                : [];
            Assert.Equal(path.Contains("{id}", StringComparison.Ordinal) ? ["path id"] : [], required);
        }
    }

    // Swagger UI percent-encodes what is typed into a path parameter, so a containers-storage name goes in as it is.
    [Theory]
    [InlineData("/layers/{id}")]
    [InlineData("/layers/{id}/tar")]
    [InlineData("/layers/{id}/descriptor")]
    public async Task TheLayerIdSaysANameGoesInAsOnePercentEncodedSegment(string path)
    {
        var document = await DocumentAsync();

        foreach (var method in (string[])["get", "head"])
        {
            var operation = document.GetProperty("paths").GetProperty(path).GetProperty(method);
            var id = operation.GetProperty("parameters").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "id");
            Assert.Contains("containers-storage layout also a name from layers.json, as one percent-encoded path segment (a '/' as %2F)", id.GetProperty("description").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TheDescriptorSizeIsAnInteger()
    {
        var document = await DocumentAsync();

        var size = document.GetProperty("components").GetProperty("schemas").GetProperty("DescriptorResponse").GetProperty("properties").GetProperty("size");

        Assert.Equal("integer", size.GetProperty("type").GetString());
    }

    [Fact]
    public async Task SwaggerUiIsServed()
    {
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri("/swagger/index.html", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("swagger-ui", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    // Swagger UI's stock page script names the petstore's document; our page loads Swashbuckle's index.js instead.
    [Fact]
    public async Task NoFileUnderSwaggerNamesThePetstoreAndTheStockInitializerIsAnUnknownPath()
    {
        const string prefix = "Swashbuckle.AspNetCore.SwaggerUI.node_modules.swagger_ui_dist.";
        var files = typeof(SwaggerUIOptions).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .Select(n => n[prefix.Length..])
            .ToList();
        Assert.Contains("swagger-initializer.js", files);
        using var client = Server.CreateClient();

        foreach (var file in files)
        {
            using var response = await client.GetAsync(new Uri($"/swagger/{file}", UriKind.Relative));
            if (file == "swagger-initializer.js")
            {
                await ProblemAssert.IsProblemWithoutDetailAsync(response, HttpStatusCode.NotFound);
                continue;
            }

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Empty(response.Content.Headers.ContentEncoding);
            Assert.DoesNotContain("petstore", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        }
    }

    [Theory]
    [InlineData("/openapi/v1.json", "application/json")]
    [InlineData("/swagger/index.html", "text/html")]
    public async Task TheDocumentAndTheUiAnswerHeadAsEveryEndpointDoes(string path, string mediaType)
    {
        var head = await RawHttp.SendAsync(Server.BaseAddress, "HEAD", path);

        Assert.Equal(200, head.Status);
        Assert.StartsWith(mediaType, head.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.Empty(head.WireBody);
    }

    [Theory]
    [InlineData("POST", "/openapi/v1.json")]
    [InlineData("POST", "/swagger/index.html")]
    [InlineData("DELETE", "/swagger")]
    public async Task AnotherMethodOnTheDocumentationIs405AllowingGetAndHead(string method, string path)
    {
        var response = await RawHttp.SendAsync(Server.BaseAddress, method, path);

        await ProblemAssert.IsProblemWithoutDetailAsync(response.ToMessage(), HttpStatusCode.MethodNotAllowed);
        Assert.Equal("GET, HEAD", response.Headers["Allow"]);
    }

    [Theory]
    [InlineData("/swagger/index.html")]
    [InlineData("/openapi/v1.json")]
    public async Task ADnsRebindingPageGetsNoDocumentation(string path)
    {
        using var client = Server.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.Host = $"attacker.example:{Server.BaseAddress.Port}";

        using var response = await client.SendAsync(request);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.MisdirectedRequest);
        Assert.Equal("urn:layer-export:problem:foreign-host", problem.GetProperty("type").GetString());
    }

    private async Task<JsonElement> DocumentAsync()
    {
        using var client = Server.CreateClient();
        using var response = await client.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static List<string> Parameters(JsonElement operation) =>
        operation.TryGetProperty("parameters", out var parameters) ? parameters.EnumerateArray().Select(p => $"{p.GetProperty("in").GetString()} {p.GetProperty("name").GetString()}").ToList() : [];

    private static List<string> Headers(JsonElement response) =>
        response.TryGetProperty("headers", out var headers) ? headers.EnumerateObject().Select(h => h.Name).Order(StringComparer.Ordinal).ToList() : [];

    /// <summary>Follows a local <c>$ref</c> such as <c>#/components/schemas/Stream</c>.</summary>
    private static JsonElement Resolve(JsonElement document, JsonElement schema)
    {
        if (!schema.TryGetProperty("$ref", out var reference))
        {
            return schema;
        }

        var target = document;
        foreach (var segment in reference.GetString()!.TrimStart('#', '/').Split('/'))
        {
            target = target.GetProperty(segment);
        }

        return Resolve(document, target);
    }
}
