using System.Net;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>The <c>?parent=</c> check of GET /layers/{id}/tar against the recorded chain (top -> mid -> base).</summary>
public sealed class ParentChainTests : IAsyncLifetime
{
    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("base")
        .AddLayer("mid", parent: "base")
        .AddLayer("top", parent: "mid")
        .AddFile("top", "etc/motd", "hi\n"u8.ToArray());

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

    [Theory]
    [InlineData("")]
    [InlineData("?parent=mid")]
    [InlineData("?parent=mid&parent=base")]
    public async Task AcceptsEveryStartOfTheRecordedChain(string query)
    {
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri($"/layers/top/tar{query}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/vnd.oci.image.layer.v1.tar", response.Content.Headers.ContentType?.MediaType);
        Assert.NotEmpty(await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("top", "?parent=base&parent=mid", new[] { "mid", "base" })]
    [InlineData("top", "?parent=base", new[] { "mid", "base" })]
    [InlineData("top", "?parent=ghost", new[] { "mid", "base" })]
    [InlineData("top", "?parent=mid&parent=base&parent=extra", new[] { "mid", "base" })]
    [InlineData("mid", "?parent=base&parent=base", new[] { "base" })]
    [InlineData("base", "?parent=mid", new string[0])]
    public async Task RefusesAnyOtherChainWithTheRecordedOne(string id, string query, string[] recorded)
    {
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri($"/layers/{id}/tar{query}", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict);
        Assert.Equal(recorded, problem.GetProperty("recordedChain").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains($"'{id}'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("urn:layer-export:problem:parent-chain-mismatch", problem.GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("?parent=..")]
    [InlineData("?parent=mid&parent=.hidden")]
    [InlineData("?parent=a%2Fb")]
    [InlineData("?parent=")]
    public async Task RejectsAMalformedParentId(string query)
    {
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri($"/layers/top/tar{query}", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("is not a layer ID", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // The path's ID is well formed: the detail says which input is not, or an empty value names nothing.
        Assert.StartsWith("The parent value '", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
