using System.Net;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>A store root deleted while the server runs is a 503 for the listing, not a generic failure.</summary>
public sealed class StoreUnavailableTests : IDisposable
{
    private readonly TempLayerStore _store = TempLayerStore.Create().AddLayer("base");

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task ListingADeletedRootIsA503Problem()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();
        Directory.Delete(_store.Root, recursive: true);
        Directory.CreateDirectory(_store.Root);

        using var response = await client.GetAsync(new Uri("/layers", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:layer-export:problem:store-unavailable", problem.GetProperty("type").GetString());
        Assert.Contains("it was deleted", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
