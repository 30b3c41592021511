using System.Net;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>A store root deleted, or made unsearchable, while the server runs is a 503 for the listing and for every layer, not a generic failure or a 404.</summary>
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
    [InlineData("/layers")]
    [InlineData("/layers/base")]
    [InlineData("/layers/base/tar")]
    public async Task ARootTheServerMayNoLongerSearchIsA503ProblemForTheListingAndEveryLayer(string target)
    {
        var problem = await ProblemAsNobodyAfterChmodAsync(_store.Root, target, HttpStatusCode.ServiceUnavailable);

        Assert.Equal("urn:layer-export:problem:store-unavailable", problem.GetProperty("type").GetString());
    }

    // The root still searchable, one layer's own directory unreadable is that layer's fault, not the store's.
    [Fact]
    public async Task ALayerDirectoryTheServerMayNotReadStaysTheLayersProblem()
    {
        var problem = await ProblemAsNobodyAfterChmodAsync(Path.Combine(_store.Root, "base"), "/layers/base", HttpStatusCode.InternalServerError);

        Assert.Equal("urn:layer-export:problem:store-inconsistent", problem.GetProperty("type").GetString());
    }

    // Root ignores permissions, so the server runs as nobody; the problem it answers once `directory` is made 0700 under it.
    private async Task<System.Text.Json.JsonElement> ProblemAsNobodyAfterChmodAsync(string directory, string target, HttpStatusCode status)
    {
        // A temporary directory is made private (0700); the server first gets to read it.
        Assert.Equal(0, (await ProcessRunner.RunAsync("chmod", ["755", _store.Root])).ExitCode);
        await using var server = ServerProcess.StartUnder(
            ServerProcess.AsNobody,
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root, ["LayerStore__AllowUnreadableTrustedXattrs"] = "true", ["DigestCache__Directory"] = "" },
            "--urls", "http://127.0.0.1:0");
        using var client = new HttpClient { BaseAddress = await server.WaitUntilListeningAsync() };
        Assert.Equal(0, (await ProcessRunner.RunAsync("chmod", ["700", directory])).ExitCode);

        using var response = await client.GetAsync(new Uri(target, UriKind.Relative));

        return await ProblemAssert.IsProblemAsync(response, status);
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
