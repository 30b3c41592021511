using System.Net;
using IntegrationTests.Support;
using LayerExport.Core.Native;
using LayerExport.Core.Store;
using Microsoft.Extensions.DependencyInjection;

namespace IntegrationTests;

/// <summary>The edges of LayerStore:Access: no retries at all, a store slower than the time limit.</summary>
public sealed class StoreAccessSettingsTests : IDisposable
{
    private const string Layer = "layer";
    private const int EIO = 5;

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer(Layer)
        .AddFile(Layer, "file.txt", "content\n"u8.ToArray());

    private FlakyStore? _flaky;

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task WithZeroRetryAttemptsExportsAndDescriptorsAreServed()
    {
        await using var server = Start(failures: 0, new() { ["LayerStore:Access:RetryAttempts"] = "0" });
        using var client = server.CreateClient();

        using var tar = await client.GetAsync(new Uri($"/layers/{Layer}/tar", UriKind.Relative));
        using var descriptor = await client.GetAsync(new Uri($"/layers/{Layer}/descriptor", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, tar.StatusCode);
        Assert.Equal(HttpStatusCode.OK, descriptor.StatusCode);
    }

    [Fact]
    public async Task WithZeroRetryAttemptsATransientErrorIsNotRetried()
    {
        await using var server = Start(failures: 1, new() { ["LayerStore:Access:RetryAttempts"] = "0" });
        using var client = server.CreateClient();

        using var failed = await client.GetAsync(new Uri($"/layers/{Layer}/tar", UriKind.Relative));
        using var next = await client.GetAsync(new Uri($"/layers/{Layer}/tar", UriKind.Relative));

        await ProblemAssert.IsProblemAsync(failed, HttpStatusCode.InternalServerError);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal(2, Flaky.Calls);
    }

    [Fact]
    public async Task AStoreSlowerThanThePrepareTimeoutIsAStoreTimeoutThatNamesTheSettingAndTheLimit()
    {
        var clock = new HeldClock();
        using var describing = new SemaphoreSlim(0);
        using var finishDescribe = new ManualResetEventSlim();
        await using var server = ApiServer.Start(
            _store.Root,
            services => services
                .AddSingleton<TimeProvider>(clock)
                .DecorateLayerStore(inner => new SlowStore(inner, describing, finishDescribe)),
            settings: new Dictionary<string, string> { ["LayerStore:Access:PrepareTimeout"] = "00:00:01" });
        using var client = server.CreateClient();

        var request = client.GetAsync(new Uri($"/layers/{Layer}/descriptor", UriKind.Relative));
        Assert.True(await describing.WaitAsync(CapturedLogs.SafetyTimeout), "the store was never asked to describe the layer");
        clock.FireTimers();
        finishDescribe.Set();
        using var response = await request;

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:layer-export:problem:store-timeout", problem.GetProperty("type").GetString());
        var detail = problem.GetProperty("detail").GetString();
        Assert.Contains("LayerStore:Access:PrepareTimeout (1 s)", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("00:00:01", detail, StringComparison.Ordinal);
    }

    private FlakyStore Flaky => _flaky ?? throw new InvalidOperationException("store not decorated");

    private ApiServer Start(int failures, Dictionary<string, string> settings) => ApiServer.Start(
        _store.Root,
        services => services.DecorateLayerStore(inner => _flaky = new FlakyStore(inner, failures)),
        settings: settings);

    /// <summary>Fails Describe with EIO the first <c>failures</c> times, then behaves like the real store.</summary>
    private sealed class FlakyStore(ILayerStore inner, int failures) : ILayerStore
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public LayerStoreLayout Layout => inner.Layout;

        public IReadOnlyList<LayerSummary> List() => inner.List();

        public LayerDescription Describe(LayerId id) =>
            Interlocked.Increment(ref _calls) <= failures ? throw new NativeIOException(EIO, id.Value) : inner.Describe(id);

        public ILayerContent Open(LayerId id) => inner.Open(id);
    }

    /// <summary>A store whose Describe says it started, then returns only when the test lets it: slower than any time limit.</summary>
    private sealed class SlowStore(ILayerStore inner, SemaphoreSlim describing, ManualResetEventSlim finish) : ILayerStore
    {
        public LayerStoreLayout Layout => inner.Layout;

        public IReadOnlyList<LayerSummary> List() => inner.List();

        public LayerDescription Describe(LayerId id)
        {
            describing.Release();
            Assert.True(finish.Wait(CapturedLogs.SafetyTimeout), "the test never let Describe finish");
            return inner.Describe(id);
        }

        public ILayerContent Open(LayerId id) => inner.Open(id);
    }
}
