using System.Net;
using IntegrationTests.Support;
using Serilog.Events;

namespace IntegrationTests;

/// <summary>Each request is logged once, through the host's configured logger, with its layer ID.</summary>
public sealed class RequestLoggingTests : IDisposable
{
    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("base")
        .AddLayer("held")
        .AddPatternFile("held", "held.bin", 64 * 1024);

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task ARequestIsLoggedOnceWithItsStatusAndLayerId()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();

        using var response = await client.GetAsync(new Uri("/layers/base", UriKind.Relative));
        var logged = await server.Logs.WaitForRequestLoggedAsync("/layers/base");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(LogEventLevel.Information, logged.Level);
        Assert.Equal("GET", CapturedLogs.Property(logged, "RequestMethod"));
        Assert.Equal("200", CapturedLogs.Property(logged, "StatusCode"));
        Assert.Equal("base", CapturedLogs.Property(logged, "LayerId"));
        Assert.Single(server.Logs.Events, e => CapturedLogs.Property(e, "RequestPath") == "/layers/base");
    }

    // Kestrel's decoded path reads a%2Fb (the name a/b) and a%252Fb (the name a%2Fb) alike; the log must not. A path
    // that names no layer (a '%' that begins no escape, a dot segment) has none: its route value is another's name.
    [Theory]
    [InlineData("/layers/a%2Fb/tar", "a/b")]
    [InlineData("/layers/a%252Fb/tar", "a%2Fb")]
    [InlineData("/layers/caf%C3%A9?parent=x", "café")]
    // The query begins at the first '?': a later one is the query's, not the path's.
    [InlineData("/layers/a%2Fb?x=?", "a/b")]
    [InlineData("/layers/100%/tar", null)]
    [InlineData("/layers/x/../a%2Fb/tar", null)]
    public async Task ARequestIsLoggedWithItsPathAsSentAndTheLayerNameItStandsFor(string target, string? layerId)
    {
        await using var server = ApiServer.Start(_store.Root);

        var response = await RawHttp.SendAsync(server.BaseAddress, "GET", target);
        var logged = await server.Logs.WaitForRequestLoggedAsync(target.Split('?')[0]);

        Assert.Equal(400, response.Status);
        Assert.Equal(layerId, CapturedLogs.Property(logged, "LayerId"));
    }

    // An asterisk-form target (OPTIONS *, RFC 9112 section 3.2.4) has no path: it is logged with none.
    [Fact]
    public async Task AnAsteriskFormTargetIsLoggedWithNoPath()
    {
        await using var server = ApiServer.Start(_store.Root);

        var response = await RawHttp.SendAsync(server.BaseAddress, "OPTIONS", "*");
        var logged = await server.Logs.WaitForRequestLoggedAsync("");

        Assert.True(response.Status < 500, $"OPTIONS *: {response.Status}");
        Assert.Equal("OPTIONS", CapturedLogs.Property(logged, "RequestMethod"));
    }

    // Alerts on the request log watch Error: a store the server cannot make sense of is the operator's to fix.
    [Fact]
    public async Task ARequestAnsweredWithA500IsLoggedAsAnError()
    {
        using var store = TempLayerStore.Create().AddLayer("orphan", parent: "ghost");
        await using var server = ApiServer.Start(store.Root);
        using var client = server.CreateClient();

        using var response = await client.GetAsync(new Uri("/layers/orphan", UriKind.Relative));
        var logged = await server.Logs.WaitForRequestLoggedAsync("/layers/orphan");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("500", CapturedLogs.Property(logged, "StatusCode"));
        Assert.Equal(LogEventLevel.Error, logged.Level);
    }

    // An exception no handler expected leaves the status at 200 when the request line is written: only the exception says it failed.
    [Fact]
    public async Task ARequestThatFailsWithAnUnexpectedExceptionIsLoggedAsAnError()
    {
        await using var server = ApiServer.Start(_store.Root, services => services.DecorateLayerStore(inner => new ExplodingLayerStore(inner)));
        using var client = server.CreateClient();

        using var response = await client.GetAsync(new Uri("/layers/base/tar", UriKind.Relative));
        var logged = await server.Logs.WaitForRequestLoggedAsync("/layers/base/tar");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal(LogEventLevel.Error, logged.Level);
    }

    // Only a cancellation the client caused is a 499: one from anywhere else, its client still waiting, is a failure.
    [Fact]
    public async Task ACancellationTheClientDidNotCauseIsAServerErrorNotA499()
    {
        await using var server = ApiServer.Start(
            _store.Root,
            services => services.DecorateLayerStore(inner => new ExplodingLayerStore(inner, static () => new OperationCanceledException("not the request's token"))));
        using var client = server.CreateClient();

        using var response = await client.GetAsync(new Uri("/layers/base/tar", UriKind.Relative));
        var logged = await server.Logs.WaitForRequestLoggedAsync("/layers/base/tar");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("500", CapturedLogs.Property(logged, "StatusCode"));
        Assert.Equal(LogEventLevel.Error, logged.Level);
    }

    // Orchestrators poll the probes every few seconds; at Information they would bury the requests that matter.
    [Fact]
    public async Task PassingHealthProbesAreLoggedAtVerboseOnly()
    {
        await using var server = ApiServer.Start(_store.Root, settings: new Dictionary<string, string> { ["Serilog:MinimumLevel:Default"] = "Verbose" });
        using var client = server.CreateClient();

        foreach (var probe in (string[])["/healthz", "/readyz"])
        {
            using var response = await client.GetAsync(new Uri(probe, UriKind.Relative));
            var logged = await server.Logs.WaitForRequestLoggedAsync(probe);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(LogEventLevel.Verbose, logged.Level);
        }

        using var layers = await client.GetAsync(new Uri("/layers", UriKind.Relative));
        Assert.Equal(LogEventLevel.Information, (await server.Logs.WaitForRequestLoggedAsync("/layers")).Level);
    }

    [Fact]
    public async Task AClientThatLeavesWhileItsDescriptorIsComputedIsA499NotAServerError()
    {
        BlockingLayerStore? blocking = null;
        await using var server = ApiServer.Start(_store.Root, services => services.DecorateLayerStore(inner => blocking = new BlockingLayerStore(inner, "held.bin")));
        using var client = server.CreateClient();
        using var leaving = new CancellationTokenSource();

        var asking = client.GetAsync(new Uri("/layers/held/descriptor", UriKind.Relative), leaving.Token);
        await blocking!.WaitUntilHeldAsync();
        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => asking);
        var logged = await server.Logs.WaitForRequestLoggedAsync("/layers/held/descriptor");
        blocking.Release();

        Assert.Equal("499", CapturedLogs.Property(logged, "StatusCode"));
        Assert.Equal(LogEventLevel.Information, logged.Level);
        Assert.Null(logged.Exception);
        Assert.DoesNotContain(server.Logs.Events, static e => e.Level >= LogEventLevel.Error);
    }
}
