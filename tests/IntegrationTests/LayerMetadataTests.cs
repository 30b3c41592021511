using System.Net;
using System.Text.Json;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>GET /layers and GET /layers/{id}.</summary>
public sealed class LayerMetadataTests : IDisposable
{
    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("c-top", parent: "b-mid")
        .AddLayer("a-base")
        .AddLayer("b-mid", parent: "a-base")
        .AddLayer("B-upper");

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task ListsEveryLayerWithItsParentInOrdinalIdOrder()
    {
        Directory.CreateDirectory(Path.Combine(_store.Root, "no-layer-json", "diff"));
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();

        using var response = await client.GetAsync(new Uri("/layers", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(
            [("B-upper", null), ("a-base", null), ("b-mid", "a-base"), ("c-top", "b-mid")],
            Summaries(await response.Content.ReadAsStringAsync()));
    }

    [Fact]
    public async Task ListingGivesTheSameLayersEveryTimeAndConcurrently()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();
        var first = await client.GetStringAsync(new Uri("/layers", UriKind.Relative));

        var again = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => client.GetStringAsync(new Uri("/layers", UriKind.Relative))));

        Assert.Equal(4, Summaries(first).Count);
        Assert.All(again, listing => Assert.Equal(first, listing));
    }

    [Fact]
    public async Task DescribesALayerWithItsChainNearestFirstAndTheLayout()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();

        using var response = await client.GetAsync(new Uri("/layers/c-top", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var layer = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("c-top", layer.GetProperty("id").GetString());
        Assert.Equal(["b-mid", "a-base"], layer.GetProperty("chain").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("native", layer.GetProperty("layout").GetString());
    }

    [Fact]
    public async Task DescribesABaseLayerWithAnEmptyChain()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();

        var layer = JsonDocument.Parse(await client.GetStringAsync(new Uri("/layers/a-base", UriKind.Relative))).RootElement;

        Assert.Equal("a-base", layer.GetProperty("id").GetString());
        Assert.Equal(0, layer.GetProperty("chain").GetArrayLength());
    }

    private static List<(string? Id, string? Parent)> Summaries(string json) =>
        [.. JsonDocument.Parse(json).RootElement.EnumerateArray().Select(e => (e.GetProperty("id").GetString(), e.GetProperty("parent").GetString()))];
}
