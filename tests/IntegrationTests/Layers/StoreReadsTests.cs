using System.Collections.Concurrent;
using IntegrationTests.Support;
using LayerExport.Core.Export;
using LayerExportApi.Layers;
using Microsoft.Extensions.Logging;

namespace IntegrationTests.Layers;

/// <summary>The store's reads alone, with a call the test holds and a stop the test begins.</summary>
public sealed class StoreReadsTests : IDisposable
{
    private readonly ManualResetEventSlim _released = new();
    private readonly SemaphoreSlim _entered = new(0);
    private readonly StoppableLifetime _lifetime = new();
    private readonly RecordingLogger _logger = new();
    private readonly ConcurrentQueue<string> _discarded = new();
    private int _calls;

    public void Dispose()
    {
        _released.Set();
        _released.Dispose();
        _entered.Dispose();
        _lifetime.Dispose();
    }

    [Fact]
    public async Task ARequestWaitingForItsHungCallIsToldTheServiceStopsOnceTheStopBeginsAndTheCallStaysCountedUntilItReturns()
    {
        var reads = OneTurn();
        var waiting = reads.RunAsync(Held, Discard, CancellationToken.None).AsTask();
        Assert.True(await _entered.WaitAsync(CapturedLogs.SafetyTimeout), "the call never started");

        await _lifetime.StopAsync();

        await Assert.ThrowsAsync<ServiceStoppingException>(() => waiting.WaitAsync(CapturedLogs.SafetyTimeout));
        Assert.Equal(1, reads.StillRunning);
        _released.Set();
        Assert.True(SpinWait.SpinUntil(() => reads.StillRunning == 0, CapturedLogs.SafetyTimeout), "the call given up on was never counted as returned");
        Assert.Equal(["late"], _discarded);
    }

    [Fact]
    public async Task ARequestWaitingForATurnIsToldTheServiceStopsOnceTheStopBeginsAndItsCallNeverStarts()
    {
        var reads = OneTurn();
        var running = reads.RunAsync(Held, Discard, CancellationToken.None).AsTask();
        Assert.True(await _entered.WaitAsync(CapturedLogs.SafetyTimeout), "the call never started");
        var waiting = reads.RunAsync(Held, Discard, CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted, "the second call did not wait for the turn");

        await _lifetime.StopAsync();

        await Assert.ThrowsAsync<ServiceStoppingException>(() => waiting.WaitAsync(CapturedLogs.SafetyTimeout));
        await Assert.ThrowsAsync<ServiceStoppingException>(() => running.WaitAsync(CapturedLogs.SafetyTimeout));
        Assert.Equal(1, Volatile.Read(ref _calls));
    }

    // A request that came just before the stop may reach the store once an earlier call was given up on by it.
    [Fact]
    public async Task OnceTheStopBeganARequestIsToldTheServiceStopsNotThatTheStoreHangsAndStartsNoCall()
    {
        var reads = OneTurn();
        var givenUp = reads.RunAsync(Held, Discard, CancellationToken.None).AsTask();
        Assert.True(await _entered.WaitAsync(CapturedLogs.SafetyTimeout), "the call never started");
        await _lifetime.StopAsync();
        await Assert.ThrowsAsync<ServiceStoppingException>(() => givenUp.WaitAsync(CapturedLogs.SafetyTimeout));

        Assert.Throws<ServiceStoppingException>(reads.ThrowIfHung);

        // Its turn back, the store is free again, but the stop starts no call.
        _released.Set();
        Assert.True(SpinWait.SpinUntil(() => reads.StillRunning == 0, CapturedLogs.SafetyTimeout), "the call given up on was never counted as returned");
        await Assert.ThrowsAsync<ServiceStoppingException>(() => reads.RunAsync(Held, Discard, CancellationToken.None).AsTask());
        Assert.Equal(1, Volatile.Read(ref _calls));
    }

    // Nobody is left to answer: the client's own cancellation goes on, and the request log names it 499.
    [Fact]
    public async Task ARequestWhoseClientLeftStopsWaitingForItsHungCallOnceTheStopBeginsWithTheClientsCancellation()
    {
        using var client = new CancellationTokenSource();
        var reads = OneTurn();
        var waiting = reads.RunAsync(Held, Discard, client.Token).AsTask();
        Assert.True(await _entered.WaitAsync(CapturedLogs.SafetyTimeout), "the call never started");
        await client.CancelAsync();

        await _lifetime.StopAsync();

        var left = await Record.ExceptionAsync(() => waiting.WaitAsync(CapturedLogs.SafetyTimeout));
        Assert.IsAssignableFrom<OperationCanceledException>(left);
        Assert.Equal(1, reads.StillRunning);
        _released.Set();
        Assert.True(SpinWait.SpinUntil(() => reads.StillRunning == 0, CapturedLogs.SafetyTimeout), "the call given up on was never counted as returned");
    }

    // The late call's continuation has no one waiting for it: a failure there was lost, and the call counted for good.
    [Fact]
    public async Task ADiscardThatFailsWhenALateCallReturnsIsLoggedAsAnErrorAndTheCallIsNoLongerCounted()
    {
        using var limit = new CancellationTokenSource();
        var failure = new IOException("close failed");
        var reads = OneTurn();
        var givenUp = reads.RunAsync(Held, _ => throw failure, CancellationToken.None, limit.Token).AsTask();
        Assert.True(await _entered.WaitAsync(CapturedLogs.SafetyTimeout), "the call never started");
        await limit.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => givenUp);

        _released.Set();

        Assert.True(SpinWait.SpinUntil(() => reads.StillRunning == 0, CapturedLogs.SafetyTimeout), "the call given up on was never counted as returned");
        var (level, logged) = Assert.Single(_logger.Entries);
        Assert.Equal(LogLevel.Error, level);
        Assert.Same(failure, logged);
    }

    // A read that never ran holds no thread: were its turn lost, every later read would wait for its time limit.
    [Fact]
    public async Task AReadWhoseThreadTheSystemRefusesFailsAloneAndGivesItsTurnBack()
    {
        var refused = new InvalidOperationException("no thread to be had");
        var refusals = 1;
        var reads = OneTurn(new StoreThreads(StoreThreads.IdleLifetime, thread =>
        {
            if (Interlocked.Decrement(ref refusals) >= 0)
            {
                throw refused;
            }

            thread.UnsafeStart();
        }));

        Assert.Same(refused, await Assert.ThrowsAsync<InvalidOperationException>(() => reads.RunAsync(static () => "refused", Discard, CancellationToken.None).AsTask()));

        Assert.Equal("next", await reads.RunAsync(static () => "next", Discard, CancellationToken.None).AsTask().WaitAsync(CapturedLogs.SafetyTimeout));
    }

    // Outside a stop, a cancellation the store's call throws itself is that call's failure, not the stop's 503.
    [Fact]
    public async Task ACancellationTheReadThrowsItselfOutsideAStopIsItsOwnFailureNotTheStop()
    {
        var own = new OperationCanceledException("the store's call cancelled itself");
        var reads = OneTurn();

        var thrown = await Record.ExceptionAsync(() => reads.RunAsync<string>(() => throw own, Discard, CancellationToken.None).AsTask().WaitAsync(CapturedLogs.SafetyTimeout));

        Assert.Same(own, thrown);
        Assert.Equal(0, reads.StillRunning);
    }

    // A client that leaves is not answered: its request, and its export slot, end with the read, which is then not
    // counted as given up on, so that clients leaving a slow store do not make it refused as hung.
    [Fact]
    public async Task ARequestWhoseClientLeftEndsWithItsReadWhichIsNotCountedAsGivenUpOn()
    {
        using var client = new CancellationTokenSource();
        var reads = OneTurn();
        var waiting = reads.RunAsync(Held, Discard, client.Token).AsTask();
        Assert.True(await _entered.WaitAsync(CapturedLogs.SafetyTimeout), "the call never started");
        await client.CancelAsync();
        reads.ThrowIfHung();

        _released.Set();

        var left = await Record.ExceptionAsync(() => waiting.WaitAsync(CapturedLogs.SafetyTimeout));
        Assert.IsAssignableFrom<OperationCanceledException>(left);
        // Released by the request as it ended, after its read returned: not later, by a read given up on.
        Assert.Equal(["late"], _discarded);
        Assert.Equal(0, reads.StillRunning);
    }

    // One turn and a time limit far beyond the test: only the stop, the client or the test's own token ends a wait.
    private StoreReads OneTurn() => OneTurn(new StoreThreads(StoreThreads.IdleLifetime));

    private StoreReads OneTurn(StoreThreads threads) => new(1, TimeSpan.FromMinutes(10), TimeProvider.System, _lifetime, _logger, threads);

    private string Held()
    {
        Interlocked.Increment(ref _calls);
        _entered.Release();
        Assert.True(_released.Wait(CapturedLogs.SafetyTimeout), "the test never released the call");
        return "late";
    }

    private void Discard(string late) => _discarded.Enqueue(late);

    private sealed class RecordingLogger : ILogger<StoreReads>
    {
        private readonly ConcurrentQueue<(LogLevel Level, Exception? Exception)> _entries = new();

        public IReadOnlyCollection<(LogLevel Level, Exception? Exception)> Entries => _entries;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _entries.Enqueue((logLevel, exception));
    }
}
