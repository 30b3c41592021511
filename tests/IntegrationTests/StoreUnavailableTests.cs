using System.Net;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>A store root deleted while the server runs is a 503 for the listing and for every layer, not a generic failure or a 404.</summary>
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
        Assert.Contains("the root directory was deleted; restart the server", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/layers/base")]
    [InlineData("/layers/base/tar")]
    [InlineData("/layers/base/tar?compression=gzip")]
    [InlineData("/layers/base/descriptor")]
    public async Task ALayerOfADeletedRootIsA503ProblemNotANotFound(string target)
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();
        Directory.Delete(_store.Root, recursive: true);
        Directory.CreateDirectory(_store.Root);

        using var response = await client.GetAsync(new Uri(target, UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:layer-export:problem:store-unavailable", problem.GetProperty("type").GetString());
        Assert.Contains("was deleted", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
