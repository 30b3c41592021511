using System.Net;
using System.Text.Json;
using IntegrationTests.Support;
using static IntegrationTests.Support.HeldExportServer;

namespace IntegrationTests;

/// <summary>The statuses and headers the gated endpoints really send are the ones the OpenAPI document lists for each method and status.</summary>
/// <remarks>Alone, because it provokes a too-many-exports refusal, which the metrics count for every host in the process.</remarks>
[Collection(nameof(ProcessWideMeasurements))]
public sealed class OpenApiHeaderTests : IAsyncLifetime
{
    private const string TarTemplate = "/layers/{id}/tar";

    // Added by Kestrel or the transport whatever the endpoint; OpenAPI ignores a documented Content-Type.
    private static readonly string[] TransportHeaders = ["Date", "Server", "Content-Type", "Transfer-Encoding", "Connection", "Keep-Alive"];

    // Sent over HTTP/2 only, which this server does not speak; Http2TrailerTests checks it is documented.
    private static readonly string[] Http2Only = ["Trailer"];

    private HeldExportServer? _held;

    private HeldExportServer Held => _held ?? throw new InvalidOperationException("not started");

    public Task InitializeAsync()
    {
        _held = HeldExportServer.Start(new Dictionary<string, string>
        {
            ["Limits:ConcurrentExports"] = "1",
            ["Limits:QueuedExports"] = "0",
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_held is not null)
        {
            await _held.DisposeAsync();
        }
    }

    [Fact]
    public async Task EachStatusCarriesExactlyTheHeadersDocumentedForIt()
    {
        using var client = Held.Server.CreateClient();
        using var documentResponse = await client.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        using var document = JsonDocument.Parse(await documentResponse.Content.ReadAsStringAsync());
        var sent = new List<Exchange>();

        // 503: one download holds the only slot, and there is no queue.
        var holding = client.GetAsync(new Uri(TarPath, UriKind.Relative));
        await Held.Blocking.WaitUntilHeldAsync();
        sent.Add(await SendAsync(client, HttpMethod.Get, TarTemplate, TarPath));
        sent.Add(await SendAsync(client, HttpMethod.Head, TarTemplate, TarPath));
        sent.Add(await SendAsync(client, HttpMethod.Get, "/layers/{id}/descriptor", $"/layers/{Layer}/descriptor"));
        sent.Add(await SendAsync(client, HttpMethod.Head, "/layers/{id}/descriptor", $"/layers/{Layer}/descriptor"));
        Held.Blocking.Release();
        using (var held = await holding)
        {
            Assert.Equal(HttpStatusCode.OK, held.StatusCode);
        }

        // The plain tar's digest is known from here on; the gzip body's is not yet.
        var etag = (await SendAsync(client, HttpMethod.Head, TarTemplate, TarPath)).Headers["ETag"];
        sent.Add(await SendAsync(client, HttpMethod.Get, TarTemplate, TarPath + "?compression=gzip"));
        sent.Add(await SendAsync(client, HttpMethod.Head, TarTemplate, TarPath + "?compression=zstd"));
        sent.Add(await SendAsync(client, HttpMethod.Get, TarTemplate, TarPath));
        sent.Add(await SendAsync(client, HttpMethod.Head, TarTemplate, TarPath));
        sent.Add(await SendAsync(client, HttpMethod.Get, TarTemplate, TarPath, ("Range", "bytes=0-99")));
        sent.Add(await SendAsync(client, HttpMethod.Get, TarTemplate, TarPath, ("Range", "bytes=99999999-")));
        sent.Add(await SendAsync(client, HttpMethod.Head, TarTemplate, TarPath, ("Range", "bytes=99999999-")));
        sent.Add(await SendAsync(client, HttpMethod.Get, TarTemplate, TarPath, ("If-None-Match", etag)));
        sent.Add(await SendAsync(client, HttpMethod.Head, TarTemplate, TarPath, ("If-None-Match", etag)));
        sent.Add(await SendAsync(client, HttpMethod.Head, TarTemplate, TarPath + "?compression=gzip", ("If-None-Match", "*")));
        sent.Add(await SendAsync(client, HttpMethod.Get, TarTemplate, TarPath, ("If-Match", "\"sha256:other\"")));
        sent.Add(await SendAsync(client, HttpMethod.Get, TarTemplate, TarPath, ("Range", "lines=1-2,x")));
        sent.Add(await SendAsync(client, HttpMethod.Get, TarTemplate, TarPath, ("Range", "bytes=x")));
        sent.Add(await SendAsync(client, HttpMethod.Get, TarTemplate, "/layers/missing/tar"));
        Assert.Equal(
            ["GET 200", "GET 206", "GET 304", "GET 400", "GET 404", "GET 412", "GET 416", "GET 503", "HEAD 200", "HEAD 304", "HEAD 503"],
            sent.Where(e => e.Template == TarTemplate).Select(e => $"{e.Method} {e.Status}").Distinct().Order(StringComparer.Ordinal));

        foreach (var exchange in sent)
        {
            var operation = document.RootElement.GetProperty("paths").GetProperty(exchange.Template).GetProperty(exchange.Method.Method.ToLowerInvariant());
            Assert.True(
                operation.GetProperty("responses").TryGetProperty(exchange.Status.ToString(System.Globalization.CultureInfo.InvariantCulture), out var response),
                $"{exchange.Method} {exchange.Template} answered {exchange.Status}, which the document does not list");
            var documented = Headers(response);
            Assert.All(exchange.Headers.Keys, name => Assert.True(documented.Contains(name), $"{exchange.Method} {exchange.Template} {exchange.Status} sent {name}, which the document does not list"));
        }

        // And each documented header is one the server sent with that status in one of the cases above.
        foreach (var group in sent.GroupBy(e => (e.Template, e.Method, e.Status)))
        {
            var (template, method, status) = group.Key;
            var response = document.RootElement.GetProperty("paths").GetProperty(template).GetProperty(method.Method.ToLowerInvariant())
                .GetProperty("responses").GetProperty(status.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var seen = group.SelectMany(e => e.Headers.Keys).ToHashSet(StringComparer.OrdinalIgnoreCase);
            Assert.All(Headers(response).Except(Http2Only, StringComparer.OrdinalIgnoreCase), name => Assert.True(seen.Contains(name), $"{method} {template} {status} documents {name}, which the server never sent"));
        }
    }

    private static HashSet<string> Headers(JsonElement response) =>
        response.TryGetProperty("headers", out var headers)
            ? headers.EnumerateObject().Select(h => h.Name).ToHashSet(StringComparer.OrdinalIgnoreCase)
            : new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    private static async Task<Exchange> SendAsync(HttpClient client, HttpMethod method, string template, string path, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        foreach (var (name, value) in headers)
        {
            Assert.True(request.Headers.TryAddWithoutValidation(name, value));
        }

        using var response = await client.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        var sent = response.Headers.NonValidated.Concat(response.Content.Headers.NonValidated)
            .Where(h => !TransportHeaders.Contains(h.Key, StringComparer.OrdinalIgnoreCase))
            .ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase);
        return new Exchange(method, template, (int)response.StatusCode, sent);
    }

    private sealed record Exchange(HttpMethod Method, string Template, int Status, Dictionary<string, string> Headers);
}
