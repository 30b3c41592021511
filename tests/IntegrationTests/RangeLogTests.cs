using System.Net;
using System.Net.Http.Headers;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>A range's completion line says which representation the bytes were of: a gzip range and a tar range of the same positions are different bytes.</summary>
public sealed class RangeLogTests : IDisposable
{
    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("ranged")
        .AddPatternFile("ranged", "data.bin", 64 * 1024);

    public void Dispose() => _store.Dispose();

    [Theory]
    [InlineData("none", "None")]
    [InlineData("gzip", "Gzip")]
    [InlineData("zstd", "Zstd")]
    public async Task ARangeIsLoggedWithItsRepresentation(string compression, string logged)
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();
        var path = new Uri($"/layers/ranged/tar?compression={compression}", UriKind.Relative);

        // A compressed body is served in ranges once a whole download made its descriptor known.
        await client.GetByteArrayAsync(path);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Range = new RangeHeaderValue(10, 99);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);

        var line = await server.Logs.WaitForAsync(e => e.MessageTemplate.Text.Contains("bytes {Start}-{End} completed", StringComparison.Ordinal), "the range's completion line");
        Assert.Equal(logged, CapturedLogs.Property(line, "Compression"));
        Assert.Equal($"Export of layer \"ranged\" ({logged}) bytes 10-99", line.RenderMessage()[..(line.RenderMessage().IndexOf(" completed", StringComparison.Ordinal))]);

        // The range's request line is written once its endpoint has returned; a whole export run after the range
        // into the finished response would have logged its own line by then.
        var requests = 0;
        await server.Logs.WaitForAsync(e => CapturedLogs.Property(e, "RequestPath") == "/layers/ranged/tar" && e.Properties.ContainsKey("StatusCode") && ++requests == 2, "the range's request line");
        Assert.Equal(2, server.Logs.Events.Count(e => e.MessageTemplate.Text.StartsWith("Export of layer", StringComparison.Ordinal)));
    }
}
