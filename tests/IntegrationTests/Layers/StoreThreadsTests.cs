using System.Runtime.CompilerServices;
using IntegrationTests.Support;
using LayerExportApi.Layers;

namespace IntegrationTests.Layers;

/// <summary>The store's kept threads alone: which thread each call runs on, and when a thread ends.</summary>
public sealed class StoreThreadsTests
{
    private static readonly TimeSpan Timeout = CapturedLogs.SafetyTimeout;

    [Fact]
    public async Task CallsOneAfterAnotherRunOnOneKeptBackgroundThreadNotThePool()
    {
        var threads = new StoreThreads(StoreThreads.IdleLifetime);

        var ran = new List<Thread>();
        for (var call = 0; call < 5; call++)
        {
            ran.Add(await threads.Run(static () => Thread.CurrentThread).WaitAsync(Timeout));
        }

        Assert.Single(ran.Distinct());
        Assert.False(ran[0].IsThreadPoolThread);
        // A kept thread must not hold the process open after the host has stopped.
        Assert.True(ran[0].IsBackground);
        Assert.Equal(1, threads.Alive);
    }

    // A caller that calls again as soon as it hears a result must find the thread that gave it idle. The caller's
    // continuation is run inline, on the kept thread, at the moment the result is given: the earliest it can ever run.
    [Fact]
    public async Task ACallMadeTheMomentAResultIsHeardFindsItsThreadIdle()
    {
        var started = 0;
        var threads = new StoreThreads(StoreThreads.IdleLifetime, thread =>
        {
            Interlocked.Increment(ref started);
            thread.UnsafeStart();
        });

        using var release = new ManualResetEventSlim();
        var first = threads.Run(() =>
        {
            release.Wait(Timeout);
            return Thread.CurrentThread;
        });
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(new InlineSynchronizationContext());
        // Returns at its await, which the held call has yet to complete: the continuation is in place before the result.
        var again = CallAgainOnHearing(first, threads);
        SynchronizationContext.SetSynchronizationContext(previous);
        release.Set();
        var second = await again.WaitAsync(Timeout);
        await second.WaitAsync(Timeout);

        Assert.Equal(1, Volatile.Read(ref started));
        Assert.Equal(1, threads.Alive);
    }

    private static async Task<Task<Thread>> CallAgainOnHearing(Task<Thread> call, StoreThreads threads)
    {
        var ranOn = await call;
        Assert.Same(ranOn, Thread.CurrentThread);
        return threads.Run(static () => Thread.CurrentThread);
    }

    [Fact]
    public async Task AHungCallKeepsItsThreadAndTheNextCallRunsOnAnother()
    {
        var threads = new StoreThreads(StoreThreads.IdleLifetime);
        using var hung = new ManualResetEventSlim();
        var first = await threads.Run(static () => Thread.CurrentThread).WaitAsync(Timeout);
        var hanging = threads.Run(() => hung.Wait(Timeout));

        var next = await threads.Run(static () => Thread.CurrentThread).WaitAsync(Timeout);

        Assert.False(hanging.IsCompleted);
        Assert.NotSame(first, next);
        Assert.Equal(2, threads.Alive);
        hung.Set();
        Assert.True(await hanging.WaitAsync(Timeout));
    }

    [Fact]
    public async Task ThreadsStartedForCallsAtOnceAreKeptForTheCallsAfter()
    {
        var threads = new StoreThreads(StoreThreads.IdleLifetime);
        using var together = new Barrier(3);
        var atOnce = Enumerable.Range(0, 3)
            .Select(_ => threads.Run(() =>
            {
                Assert.True(together.SignalAndWait(Timeout), "the three calls did not run at once");
                return Thread.CurrentThread;
            }))
            .ToArray();
        var started = (await Task.WhenAll(atOnce).WaitAsync(Timeout)).ToHashSet();

        var after = new List<Thread>();
        for (var call = 0; call < 6; call++)
        {
            after.Add(await threads.Run(static () => Thread.CurrentThread).WaitAsync(Timeout));
        }

        Assert.Equal(3, started.Count);
        Assert.All(after, thread => Assert.Contains(thread, started));
        Assert.Equal(3, threads.Alive);
    }

    [Fact]
    public async Task AFailingCallFaultsItsTaskAndItsThreadTakesTheNextCall()
    {
        var threads = new StoreThreads(StoreThreads.IdleLifetime);
        Thread? failedOn = null;

        var failure = await Assert.ThrowsAsync<IOException>(() => threads.Run<int>(() =>
        {
            failedOn = Thread.CurrentThread;
            throw new IOException("the store failed");
        }).WaitAsync(Timeout));
        var next = await threads.Run(static () => Thread.CurrentThread).WaitAsync(Timeout);

        Assert.Equal("the store failed", failure.Message);
        Assert.Same(failedOn, next);
    }

    [Fact]
    public async Task AThreadIdleForItsLifetimeEndsAndTheNextCallStartsAnother()
    {
        var threads = new StoreThreads(TimeSpan.FromMilliseconds(50));
        var first = await threads.Run(static () => Thread.CurrentThread).WaitAsync(Timeout);

        Assert.True(first.Join(Timeout), "the idle thread did not end");
        Assert.Equal(0, threads.Alive);
        var next = await threads.Run(static () => Thread.CurrentThread).WaitAsync(Timeout);

        Assert.NotSame(first, next);
    }

    // A call made just as an idle thread's lifetime runs out finds that thread still idle or starts another: never is
    // it queued for a thread that then ends without taking it, which would leave it unanswered for good.
    [Fact]
    public async Task ACallMadeAsAnIdleThreadsLifetimeRunsOutIsAlwaysAnswered()
    {
        var threads = new StoreThreads(TimeSpan.Zero);

        for (var call = 0; call < 2_000; call++)
        {
            var sent = call;
            Assert.Equal(sent, await threads.Run(() => sent).WaitAsync(Timeout));
        }
    }

    // The system may refuse a thread (a cgroup's pids.max; .NET throws OutOfMemoryException): the caller must hear it
    // through the task, as it hears a call's failure, so that what it holds for the call (StoreReads' turn) is given back.
    [Fact]
    public async Task AThreadTheSystemRefusesFaultsTheCallsTaskAndIsNotCountedAlive()
    {
        var refused = new InvalidOperationException("no thread to be had");
        var threads = new StoreThreads(StoreThreads.IdleLifetime, _ => throw refused);

        var call = threads.Run(static () => 1);

        Assert.Same(refused, await Assert.ThrowsAsync<InvalidOperationException>(() => call.WaitAsync(Timeout)));
        Assert.Equal(0, threads.Alive);
    }

    // A call's result (an opened layer and its survey) is its caller's: a kept thread idling for its next call must
    // not hold it, nor what the call captured, for as long as the thread lives.
    [Fact]
    public void AKeptThreadHoldsNothingOfTheCallsItRan()
    {
        var threads = new StoreThreads(StoreThreads.IdleLifetime);
        var first = RunAndLetGo(threads);
        var next = RunAndLetGo(threads);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.Equal(1, threads.Alive);
        Assert.False(first.IsAlive, "the thread holds its first call's result");
        Assert.False(next.IsAlive, "the thread holds its last call's result");
    }

    // Not inlined, so that the test's own frame holds neither the result nor the task. Waited for without a timer,
    // which would hold WaitAsync's task, and with it the result, until the timer is put away.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference RunAndLetGo(StoreThreads threads)
    {
        var call = threads.Run(static () => new byte[1024]);
        Assert.True(call.Wait(Timeout), "the call never ended");
        return new(call.Result);
    }

    /// <summary>Runs every continuation posted to it at once, on the thread that posts it.</summary>
    private sealed class InlineSynchronizationContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => d(state);
    }
}
