using System.Collections.Concurrent;
using System.Net;
using IntegrationTests.Support;
using LayerExport.Core.Native;
using LayerExport.Core.Store;
using LayerExportApi.Layers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
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

    // A hard-mounted network file system whose server is gone: the store's call never returns and cannot be cancelled.
    [Theory]
    [InlineData("")]
    [InlineData("/tar")]
    public async Task AStoreReadThatNeverReturnsIsAStoreTimeoutAndAsManyAsThereAreSlotsMakeTheStoreRefusedAtOnce(string endpoint)
    {
        var clock = new HeldClock();
        using var hung = new HungStore(TempLayerStore.Create().AddLayer(Layer).AddFile(Layer, "file.txt", "content\n"u8.ToArray()));
        await using var server = StartOneSlotHung(hung, clock);
        using var client = server.CreateClient();
        var path = new Uri($"/layers/{Layer}{endpoint}", UriKind.Relative);
        var held = OpenFileDescriptors.Under(hung.Root);

        var first = client.GetAsync(path);
        Assert.True(await hung.Entered.WaitAsync(CapturedLogs.SafetyTimeout), "the store was never asked");
        clock.FireTimers();
        using var timedOut = await first;
        using var refused = await client.GetAsync(path);

        var timeout = await ProblemAssert.IsProblemAsync(timedOut, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:layer-export:problem:store-timeout", timeout.GetProperty("type").GetString());
        Assert.Contains("took longer than LayerStore:Access:PrepareTimeout (1 s)", timeout.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var hungStore = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:layer-export:problem:store-timeout", hungStore.GetProperty("type").GetString());
        Assert.StartsWith("1 reads of the layer store given up on after LayerStore:Access:PrepareTimeout (1 s) have not returned yet", hungStore.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, hung.Calls);

        // Once the read returns, what it opened is closed and the store is asked again.
        hung.Release();
        var reads = server.Services.GetRequiredService<StoreReads>();
        Assert.True(SpinWait.SpinUntil(() => reads.StillRunning == 0, CapturedLogs.SafetyTimeout), "the read given up on was never counted as returned");
        Assert.Empty(OpenFileDescriptors.Added(held, OpenFileDescriptors.Under(hung.Root)));
        using var served = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    // Until the first read is given up on, a hung store looks like a slow one: every request that came in the meantime
    // started a read of its own, each holding a thread for good, however many came while the time limit ran.
    [Fact]
    public async Task RequestsThatComeWhileTheStoreHangsBlockNoMoreThreadsThanThereAreSlots()
    {
        const int Crowd = 4;
        var clock = new HeldClock();
        using var hung = new HungStore(TempLayerStore.Create().AddLayer(Layer).AddFile(Layer, "file.txt", "content\n"u8.ToArray()), everyCall: true);
        await using var server = StartOneSlotHung(hung, clock);
        using var client = server.CreateClient();
        var path = new Uri($"/layers/{Layer}", UriKind.Relative);

        var first = client.GetAsync(path);
        Assert.True(await hung.Entered.WaitAsync(CapturedLogs.SafetyTimeout), "the store was never asked");
        List<Task<HttpResponseMessage>> requests = [first, .. Enumerable.Range(1, Crowd - 1).Select(_ => client.GetAsync(path))];

        // Every request that runs at once takes a time limit of its own: fired once all are there, every one runs out.
        for (var timed = 0; timed < Crowd; timed++)
        {
            await clock.NextTimerAsync();
        }

        clock.FireTimers();
        foreach (var request in requests)
        {
            using var response = await request;
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable);
            Assert.Equal("urn:layer-export:problem:store-timeout", problem.GetProperty("type").GetString());
        }

        var reads = server.Services.GetRequiredService<StoreReads>();
        Assert.Equal(1, reads.StillRunning);
        Assert.Equal(1, hung.Calls);

        hung.Release();
        Assert.True(SpinWait.SpinUntil(() => reads.StillRunning == 0, CapturedLogs.SafetyTimeout), "the read given up on was never counted as returned");
        using var served = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    // A download that finds no slot free asks the store whether it can only be refused before it queues. That call ran
    // on the request's thread with no time limit: while the store hung, the request was never answered.
    [Fact]
    public async Task ADownloadThatFindsNoSlotFreeWhileTheStoreHangsIsAStoreTimeoutToo()
    {
        var clock = new HeldClock();
        using var hung = new HungStore(TempLayerStore.Create().AddLayer(Layer).AddFile(Layer, "file.txt", "content\n"u8.ToArray()), everyCall: true);
        await using var server = StartOneSlotHung(hung, clock);
        using var client = server.CreateClient();
        var path = new Uri($"/layers/{Layer}/tar", UriKind.Relative);

        var first = client.GetAsync(path);
        Assert.True(await hung.Entered.WaitAsync(CapturedLogs.SafetyTimeout), "the store was never asked");
        var second = client.GetAsync(path);

        // The first download's time limit, then the second's question's.
        await clock.NextTimerAsync();
        await clock.NextTimerAsync();
        clock.FireTimers();
        using var timedOut = await first;
        using var asked = await second.WaitAsync(CapturedLogs.SafetyTimeout);

        foreach (var response in new[] { timedOut, asked })
        {
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable);
            Assert.Equal("urn:layer-export:problem:store-timeout", problem.GetProperty("type").GetString());
        }

        Assert.Equal(1, hung.Calls);
        hung.Release();
        var reads = server.Services.GetRequiredService<StoreReads>();
        Assert.True(SpinWait.SpinUntil(() => reads.StillRunning == 0, CapturedLogs.SafetyTimeout), "the read given up on was never counted as returned");
        using var served = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    // Nobody is left to answer, so the stop ends the wait for the hung call without an answer, and the request log
    // names the client's leaving (499), not the stop (503).
    [Fact]
    public async Task AClientThatLeftDuringAHungStoreCallDoesNotHoldTheStopAndIsLoggedAsAClientThatLeft()
    {
        var left = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var hung = new HungStore(TempLayerStore.Create().AddLayer(Layer).AddFile(Layer, "file.txt", "content\n"u8.ToArray()));
        await using var server = ApiServer.Start(
            hung.Root,
            services => services
                .DecorateLayerStore(hung.Decorate)
                .AddSingleton<IStartupFilter>(new AbortWatch(left)),
            settings: new Dictionary<string, string> { ["LayerStore:Access:PrepareTimeout"] = "00:10:00", ["Limits:ShutdownTimeout"] = "00:10:00" });
        var reads = server.Services.GetRequiredService<StoreReads>();
        using var client = server.CreateClient();
        using var leaving = new CancellationTokenSource();
        var request = client.GetAsync(new Uri($"/layers/{Layer}", UriKind.Relative), leaving.Token);
        Assert.True(await hung.Entered.WaitAsync(CapturedLogs.SafetyTimeout), "the store was never asked");
        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        await left.Task.WaitAsync(CapturedLogs.SafetyTimeout);

        await server.StopAsync().WaitAsync(CapturedLogs.SafetyTimeout);

        var logged = await server.Logs.WaitForRequestLoggedAsync($"/layers/{Layer}");
        Assert.Equal("499", CapturedLogs.Property(logged, "StatusCode"));
        Assert.Equal(1, reads.StillRunning);
    }

    // The pool adds about a thread a second once all of its are blocked: store calls hung on its threads held up every
    // request, health probes too (64 calls hung on a FIFO's open took /healthz 58 s to answer, 14 ms on their own threads).
    [Theory]
    [InlineData("/layers")]
    [InlineData("/layers/layer")]
    [InlineData("/layers/layer/tar")]
    public async Task TheStoreIsCalledOnAThreadOfItsOwnNotOnTheThreadPool(string path)
    {
        var store = new ThreadRecordingStore();
        await using var server = ApiServer.Start(_store.Root, services => services.DecorateLayerStore(store.Decorate));
        using var client = server.CreateClient();

        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEmpty(store.OnPoolThread);
        Assert.All(store.OnPoolThread, static onPool => Assert.False(onPool, "a store call ran on a pool thread"));
    }

    // A thread started for every call cut the requests a second of GET /layers by seven in eight (StoreThreads).
    [Theory]
    [InlineData("/layers")]
    [InlineData("/layers/layer")]
    [InlineData("/layers/layer/tar")]
    public async Task OneRequestAfterAnotherFindsTheStoresThreadIdleAndStartsNoOther(string path)
    {
        var store = new ThreadRecordingStore();
        await using var server = ApiServer.Start(_store.Root, services => services.DecorateLayerStore(store.Decorate));
        using var client = server.CreateClient();

        for (var request = 0; request < 4; request++)
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.LoadIntoBufferAsync();
        }

        Assert.True(store.Threads.Count >= 4, $"{store.Threads.Count} store calls recorded");
        Assert.Single(store.Threads.Distinct());
    }

    // One export slot and a one-second time limit on the held clock, so a single hung call reaches every bound.
    private static ApiServer StartOneSlotHung(HungStore hung, HeldClock clock) => ApiServer.Start(
        hung.Root,
        services => services
            .AddSingleton<TimeProvider>(clock)
            .DecorateLayerStore(hung.Decorate),
        settings: new Dictionary<string, string> { ["LayerStore:Access:PrepareTimeout"] = "00:00:01", ["Limits:ConcurrentExports"] = "1" });

    private FlakyStore Flaky => _flaky ?? throw new InvalidOperationException("store not decorated");

    private ApiServer Start(int failures, Dictionary<string, string> settings) => ApiServer.Start(
        _store.Root,
        services => services.DecorateLayerStore(inner => _flaky = new FlakyStore(inner, failures)),
        settings: settings);

    /// <summary>Says when the server saw a request's client leave, ahead of the application's own middleware.</summary>
    private sealed class AbortWatch(TaskCompletionSource left) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                context.RequestAborted.Register(() => left.TrySetResult());
                return nextMiddleware(context);
            });
            next(app);
        };
    }

    /// <summary>A store whose first Describe or Open (or every one) hangs until the test releases it; the others pass through.</summary>
    private sealed class HungStore(TempLayerStore store, bool everyCall = false) : IDisposable
    {
        private readonly ManualResetEventSlim _released = new();
        private int _calls;

        public SemaphoreSlim Entered { get; } = new(0);

        public string Root => store.Root;

        public int Calls => Volatile.Read(ref _calls);

        public ILayerStore Decorate(ILayerStore inner) => new Hanging(inner, this);

        public void Release() => _released.Set();

        public void Dispose()
        {
            _released.Set();
            _released.Dispose();
            Entered.Dispose();
            store.Dispose();
        }

        private void Hang()
        {
            if (Interlocked.Increment(ref _calls) == 1 || everyCall)
            {
                Entered.Release();
                Assert.True(_released.Wait(CapturedLogs.SafetyTimeout), "the test never released the hung store");
            }
        }

        private sealed class Hanging(ILayerStore inner, HungStore hung) : ILayerStore
        {
            public LayerStoreLayout Layout => inner.Layout;

            public IReadOnlyList<LayerSummary> List() => inner.List();

            public LayerDescription Describe(LayerId id)
            {
                hung.Hang();
                return inner.Describe(id);
            }

            public ILayerContent Open(LayerId id)
            {
                var content = inner.Open(id);
                hung.Hang();
                return content;
            }
        }
    }

    /// <summary>Records the thread every call of the store ran on.</summary>
    private sealed class ThreadRecordingStore
    {
        private readonly ConcurrentQueue<Thread> _threads = new();

        public ConcurrentQueue<Thread> Threads => _threads;

        public IEnumerable<bool> OnPoolThread => _threads.Select(static thread => thread.IsThreadPoolThread);

        public ILayerStore Decorate(ILayerStore inner) => new Recording(inner, this);

        private T Record<T>(Func<T> call)
        {
            _threads.Enqueue(Thread.CurrentThread);
            return call();
        }

        private sealed class Recording(ILayerStore inner, ThreadRecordingStore store) : ILayerStore
        {
            public LayerStoreLayout Layout => inner.Layout;

            public IReadOnlyList<LayerSummary> List() => store.Record(inner.List);

            public LayerDescription Describe(LayerId id) => store.Record(() => inner.Describe(id));

            public ILayerContent Open(LayerId id) => store.Record(() => inner.Open(id));
        }
    }

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
