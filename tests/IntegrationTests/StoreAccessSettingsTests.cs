using System.Net;
using IntegrationTests.Support;
using LayerExport.Core.Native;
using LayerExport.Core.Store;

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
        await using var server = Start(failures: 0, new() { ["LayerStore:Access:PrepareTimeout"] = "00:00:01" }, describeDelay: TimeSpan.FromSeconds(1.5));
        using var client = server.CreateClient();

        using var response = await client.GetAsync(new Uri($"/layers/{Layer}/descriptor", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:layer-export:problem:store-timeout", problem.GetProperty("type").GetString());
        var detail = problem.GetProperty("detail").GetString();
        Assert.Contains("LayerStore:Access:PrepareTimeout (1 s)", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("00:00:01", detail, StringComparison.Ordinal);
    }

    private FlakyStore Flaky => _flaky ?? throw new InvalidOperationException("store not decorated");

    private ApiServer Start(int failures, Dictionary<string, string> settings, TimeSpan describeDelay = default) => ApiServer.Start(
        _store.Root,
        services => services.DecorateLayerStore(inner => _flaky = new FlakyStore(inner, failures, describeDelay)),
        settings: settings);

    /// <summary>Takes <c>describeDelay</c> for each Describe, fails it with EIO the first <c>failures</c> times, then behaves like the real store.</summary>
    private sealed class FlakyStore(ILayerStore inner, int failures, TimeSpan describeDelay) : ILayerStore
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public LayerStoreLayout Layout => inner.Layout;

        public IReadOnlyList<LayerSummary> List() => inner.List();

        public LayerDescription Describe(LayerId id)
        {
            Thread.Sleep(describeDelay);
            return Interlocked.Increment(ref _calls) <= failures ? throw new NativeIOException(EIO, id.Value) : inner.Describe(id);
        }

        public ILayerContent Open(LayerId id) => inner.Open(id);
    }
}
