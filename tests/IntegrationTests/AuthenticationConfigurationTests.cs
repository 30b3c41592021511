using System.Net;
using System.Net.Http.Headers;
using IntegrationTests.Support;
using LayerExportApi.Security;

namespace IntegrationTests;

/// <summary>Token hashes as an operator configures them: environment variables, validated at start-up.</summary>
public sealed class AuthenticationConfigurationTests : IDisposable
{
    private readonly TempLayerStore _store = TempLayerStore.Create().AddLayer("base");

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task OneEnvironmentVariableCanListSeveralHashes()
    {
        string[] tokens = [BearerTokens.NewToken(), BearerTokens.NewToken()];
        await using var server = ServerProcess.Start(
            AppContext.BaseDirectory,
            new Dictionary<string, string>
            {
                ["LayerStore__Root"] = _store.Root,
                ["Authentication__TokenSha256Hashes"] = $"{BearerTokens.Sha256Hex(tokens[0])}, {BearerTokens.Sha256Hex(tokens[1])}",
            },
            "--urls", "http://127.0.0.1:0");
        using var client = new HttpClient { BaseAddress = await server.WaitUntilListeningAsync() };

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync(new Uri("/layers", UriKind.Relative))).StatusCode);
        foreach (var token in tokens)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/layers");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(request)).StatusCode);
        }

        Assert.Contains("Authentication: a bearer token is required", server.Output, StringComparison.Ordinal);
    }

    // Operators paste hashes from sha256sum (lowercase) or other tools (uppercase), one per line in a secret file.
    [Theory]
    [InlineData(",")]
    [InlineData(" ")]
    [InlineData(";")]
    [InlineData("\n")]
    public async Task OneValueMaySeparateItsHashesByCommaSpaceSemicolonOrNewlineInEitherCase(string separator)
    {
        string[] tokens = [BearerTokens.NewToken(), BearerTokens.NewToken()];
        var hashes = $"{BearerTokens.Sha256Hex(tokens[0])}{separator}{BearerTokens.Sha256Hex(tokens[1]).ToUpperInvariant()}";
        await using var server = ApiServer.Start(_store.Root, settings: new Dictionary<string, string> { ["Authentication:TokenSha256Hashes"] = hashes });
        using var client = server.CreateClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync(new Uri("/layers", UriKind.Relative))).StatusCode);
        foreach (var token in tokens)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/layers");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(request)).StatusCode);
        }
    }

    [Theory]
    [InlineData("not-a-hash")]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde")]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefg")]
    public async Task AnEntryThatIsNotAHashStopsStartUpWithoutEchoingIt(string hash)
    {
        await using var server = ServerProcess.Start(
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root, ["Authentication__TokenSha256Hashes__0"] = hash },
            "--urls", "http://127.0.0.1:0");

        var exitCode = await server.WaitForExitAsync();

        Assert.True(exitCode == 1, $"exit code {exitCode}: {server.Output}");
        Assert.Contains("LayerExport cannot start: Authentication:TokenSha256Hashes holds an entry that is not a SHA-256 hash", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(hash, server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening on", server.Output, StringComparison.Ordinal);
    }

    // A hash mistyped beside good ones would lock its client out with nothing in the log to say why.
    [Fact]
    public async Task OneBadEntryAmongGoodHashesStillStopsStartUp()
    {
        await using var server = ServerProcess.Start(
            AppContext.BaseDirectory,
            new Dictionary<string, string>
            {
                ["LayerStore__Root"] = _store.Root,
                ["Authentication__TokenSha256Hashes__0"] = BearerTokens.Sha256Hex(BearerTokens.NewToken()),
                ["Authentication__TokenSha256Hashes__1"] = "not-a-hash",
            },
            "--urls", "http://127.0.0.1:0");

        var exitCode = await server.WaitForExitAsync();

        Assert.True(exitCode == 1, $"exit code {exitCode}: {server.Output}");
        Assert.Contains("LayerExport cannot start: Authentication:TokenSha256Hashes holds an entry that is not a SHA-256 hash", server.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    [InlineData("0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF", true)]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", false)]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", false)]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", false)]
    [InlineData("g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false)]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\u0663", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void OnlySixtyFourHexDigitsAreAHash(string? entry, bool isHash)
    {
        // Start-up validation's own check, run in this process: the tests above see only its outcome, from another process.
        Assert.Equal(isHash, TokenHashes.IsHexHash(entry));
    }

    [Fact]
    public async Task WithoutHashesTheServerWarnsThatAuthenticationIsOff()
    {
        await using var server = ServerProcess.Start(
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root },
            "--urls", "http://127.0.0.1:0");
        using var client = new HttpClient { BaseAddress = await server.WaitUntilListeningAsync() };

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/layers", UriKind.Relative))).StatusCode);
        Assert.Contains("Authentication is off", server.Output, StringComparison.Ordinal);
    }
}
