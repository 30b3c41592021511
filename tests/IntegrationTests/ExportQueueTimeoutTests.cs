using System.Net;
using IntegrationTests.Support;
using LayerExportApi.Limits;
using Microsoft.Extensions.DependencyInjection;

namespace IntegrationTests;

/// <summary>A download that waits Limits:QueueTimeout for a slot gets 503 with Retry-After and leaves the queue.</summary>
[Collection(nameof(ProcessWideMeasurements))]
public sealed class ExportQueueTimeoutTests : IAsyncLifetime
{
    private const string Layer = "held";
    private const string HeldEntry = "b/held.bin";
    private const string TarPath = $"/layers/{Layer}/tar";

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer(Layer)
        .AddFile(Layer, "a/first.txt", "first\n"u8.ToArray())
        .AddPatternFile(Layer, HeldEntry, 100_000);

    private BlockingLayerStore? _blocking;
    private ApiServer? _server;

    private ApiServer Server => _server ?? throw new InvalidOperationException("not started");

    private BlockingLayerStore Blocking => _blocking ?? throw new InvalidOperationException("store not decorated");

    public Task InitializeAsync()
    {
        _server = ApiServer.Start(
            _store.Root,
            services => services.DecorateLayerStore(inner => _blocking = new BlockingLayerStore(inner, HeldEntry)),
            settings: new Dictionary<string, string>
            {
                ["Limits:ConcurrentExports"] = "1",
                ["Limits:QueuedExports"] = "8",
                ["Limits:QueueTimeout"] = "00:00:00.300",
                ["Limits:RetryAfterSeconds"] = "5",
            });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _blocking?.Release();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _store.Dispose();
    }

    [Fact]
    public async Task ADownloadThatWaitsTooLongForASlotIsRefusedAndLeavesTheQueue()
    {
        using var client = Server.CreateClient();
        var running = client.GetByteArrayAsync(new Uri(TarPath, UriKind.Relative));
        await Blocking.WaitUntilHeldAsync(1);

        using var refused = await client.GetAsync(new Uri(TarPath, UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:layer-export:problem:too-many-exports", problem.GetProperty("type").GetString());
        Assert.Contains("within 0.3 s", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
        var gate = Server.Services.GetRequiredService<ExportGate>();
        Assert.Equal(0, gate.Queued);
        Assert.False(running.IsCompleted);

        Blocking.Release();
        Assert.True((await running).Length > 100_000);
        Assert.True(SpinWait.SpinUntil(() => gate.Available == 1, CapturedLogs.SafetyTimeout), "the slot was given back");
    }
}
