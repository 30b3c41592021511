using System.Net;
using System.Net.Http.Headers;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>
/// A byte range is checked against the layer state it was asked of once all of it is made; one smaller than a flush's
/// worth that fails that check has sent nothing, so it is answered with a problem, not cut with no status line.
/// </summary>
public sealed class SmallRangeChangeTests : IAsyncLifetime
{
    private const string Layer = "ranged";
    private const string LaterFile = "etc/config";

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer(Layer)
        .AddPatternFile(Layer, "data/blob.bin", 20_000)
        .AddFile(Layer, LaterFile, "a=1\n"u8.ToArray());

    private ApiServer? _server;

    private ApiServer Server => _server ?? throw new InvalidOperationException("not started");

    public Task InitializeAsync()
    {
        // The range's bytes (data/ and the start of blob.bin) stay as they were; a file after them gets a new mtime.
        var later = Path.Combine(_store.DiffPath(Layer), LaterFile);
        _server = ApiServer.Start(_store.Root, services => services.DecorateLayerStore(inner => new ChangingLayerStore(inner, () => File.SetLastWriteTimeUtc(later, DateTime.UtcNow.AddDays(-1)))));
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
    public async Task ARangeOfALayerThatChangedWhileItWasMadeIsLayerChangingAndTheNextRangeIsServed()
    {
        using var client = Server.CreateClient();

        using var changed = await RangeAsync(client, 0, 999);
        using var after = await RangeAsync(client, 0, 999);

        var problem = await ProblemAssert.IsProblemAsync(changed, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:layer-export:problem:layer-changing", problem.GetProperty("type").GetString());
        Assert.Null(changed.Content.Headers.ContentRange);
        Assert.Equal(HttpStatusCode.PartialContent, after.StatusCode);
        Assert.Equal(1000, (await after.Content.ReadAsByteArrayAsync()).Length);
        var failed = (await Server.Logs.WaitForExportOutcomesAsync(Layer, 2))[0];
        Assert.Equal("503", CapturedLogs.Property(failed, "ProblemStatus"));
    }

    private static async Task<HttpResponseMessage> RangeAsync(HttpClient client, long from, long to)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/layers/{Layer}/tar", UriKind.Relative));
        request.Headers.Range = new RangeHeaderValue(from, to);
        return await client.SendAsync(request);
    }
}
