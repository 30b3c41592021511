using System.Net;
using IntegrationTests.Support;
using LayerExport.Core.Store;

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

    [Fact]
    public async Task AcceptsTheWholeChainOfADeepestImageWithTheLongestIds()
    {
        // Docker stacks at most 125 layers; each ID here is the longest a layer ID may be. Named in full, the parents
        // make a request line of 17 KiB, past Kestrel's default of 8 KiB (an empty 414 before the endpoint ran).
        using var store = TempLayerStore.Create();
        var ids = Enumerable.Range(0, 125).Select(static n => $"{n:D3}{new string('f', 125)}").ToArray();
        for (var n = 0; n < ids.Length; n++)
        {
            store.AddLayer(ids[n], parent: n == 0 ? null : ids[n - 1]);
        }

        store.AddFile(ids[^1], "etc/motd", "deep\n"u8.ToArray());
        await using var server = ApiServer.Start(store.Root);
        using var client = server.CreateClient();
        var query = string.Join('&', Enumerable.Reverse(ids[..^1]).Select(static id => $"parent={id}"));
        var target = $"/layers/{ids[^1]}/tar?{query}";

        using var response = await client.GetAsync(new Uri(target, UriKind.Relative));

        Assert.True(target.Length > 16 * 1024, $"the request target is {target.Length} bytes");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var archive = Path.Combine(Path.GetTempPath(), $"chain-{Guid.NewGuid():N}.tar");
        try
        {
            await File.WriteAllBytesAsync(archive, await response.Content.ReadAsByteArrayAsync());
            Assert.Equal("deep\n", await GnuTar.ReadMemberAsync(archive, "etc/motd"));
        }
        finally
        {
            File.Delete(archive);
        }
    }

    [Fact]
    public async Task QuotesAParentFarLongerThanAnIdOnlyAsFarAsAnIdCouldGo()
    {
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri($"/layers/top/tar?parent={new string('b', 20_000)}", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(
            $"The parent value '{new string('b', 160)}... (19840 more characters)' is not a layer ID: IDs match {LayerId.Pattern}.",
            problem.GetProperty("detail").GetString());
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
