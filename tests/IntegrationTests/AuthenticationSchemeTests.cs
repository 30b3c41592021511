using System.Net;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>A credential of another scheme than Bearer is no bearer token: 401 with a plain challenge, no error code (RFC 6750 section 3.1).</summary>
public sealed class AuthenticationSchemeTests : IAsyncLifetime
{
    private const string Layer = "base";

    private readonly TempLayerStore _store = TempLayerStore.Create().AddLayer(Layer);

    private ApiServer? _server;

    private ApiServer Server => _server ?? throw new InvalidOperationException("not started");

    public Task InitializeAsync()
    {
        _server = ApiServer.Start(_store.Root, settings: BearerTokens.Settings(BearerTokens.NewToken()));
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
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Digest username=\"user\"")]
    [InlineData("garbage")]
    [InlineData("Bearertoken")]
    [InlineData("Basic")]
    [InlineData("Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnagMDAuBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICHgYKKwYBBAGCNwICCg==")]
    [InlineData(",,,")]
    public async Task AnotherSchemesCredentialIsAnsweredAsNoCredential(string authorization)
    {
        using var client = Server.CreateClient();
        foreach (var path in (string[])["/layers", $"/layers/{Layer}/tar", "/metrics"])
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            Assert.True(request.Headers.TryAddWithoutValidation("Authorization", authorization));
            using var response = await client.SendAsync(request);

            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
            Assert.Equal("urn:layer-export:problem:unauthorized", problem.GetProperty("type").GetString());
            Assert.Equal("Bearer realm=\"layer-export\"", Assert.Single(response.Headers.WwwAuthenticate).ToString());
        }
    }
}
