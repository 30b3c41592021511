using System.Net;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>Over loopback, a Host naming another domain (what a DNS-rebinding web page sends) gets no layer.</summary>
public sealed class LoopbackHostTests : IAsyncLifetime
{
    private readonly TempLayerStore _store = TempLayerStore.Create().AddLayer("base").AddFile("base", "secret", "s3cret\n"u8.ToArray());
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
    [InlineData("attacker.example")]
    [InlineData("localhost.attacker.example")]
    [InlineData("127.0.0.1.nip.io")]
    public async Task AForeignNameIsAMisdirectedRequestProblem(string host)
    {
        using var response = await GetAsync("/layers/base/tar", $"{host}:{Server.BaseAddress.Port}");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.MisdirectedRequest);
        Assert.Equal("urn:layer-export:problem:foreign-host", problem.GetProperty("type").GetString());
        Assert.DoesNotContain("s3cret", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("LOCALHOST")]
    [InlineData("app.localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("[::1]")]
    public async Task LocalhostAndAddressesAreServed(string host)
    {
        using var response = await GetAsync("/layers", $"{host}:{Server.BaseAddress.Port}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<HttpResponseMessage> GetAsync(string path, string host)
    {
        using var client = Server.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.Host = host;
        return await client.SendAsync(request);
    }

    [Fact]
    public async Task WithTokensAForeignNameIsLeftToAuthentication()
    {
        // A page that rebinds its name has no token to send; a reverse proxy on the same host keeps its Host.
        var token = BearerTokens.NewToken();
        await using var server = ApiServer.Start(_store.Root, settings: BearerTokens.Settings(token));
        using var client = server.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/layers", UriKind.Relative));
        request.Headers.Host = $"proxy.example:{server.BaseAddress.Port}";
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
