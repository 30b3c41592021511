using System.Net;
using IntegrationTests.Support;
using Serilog.Events;

namespace IntegrationTests;

/// <summary>Each request is logged once, through the host's configured logger, with its layer ID.</summary>
public sealed class RequestLoggingTests : IDisposable
{
    private readonly TempLayerStore _store = TempLayerStore.Create().AddLayer("base");

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
}
