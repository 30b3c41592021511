using System.Threading.Channels;
using LayerExport.Core.Export;
using Polly.Timeout;

namespace LayerExportApi.Layers;

/// <summary>Runs the store's synchronous reads off the request's thread, a bounded number at once, and refuses new ones while the store hangs.</summary>
/// <remarks>
/// A read on a hard-mounted network file system whose server is gone never returns and cannot be cancelled. Giving
/// up on it answers its client, but its thread stays blocked. At most <c>Limits:ConcurrentExports</c> reads run at
/// once, each until it returns, given up on or not; the others wait for one to return, within their time limit. Once
/// that many reads given up on still run, the store is taken as hung and refused at once. So a hung store holds no
/// more threads than the export slots did, however many requests come while it hangs. Once the host begins to stop,
/// a read waiting for its turn or for its call is given up on at once, and none starts, so that a hung store does not
/// hold the stop.
/// </remarks>
internal sealed partial class StoreReads(int mostStillRunning, TimeSpan prepareTimeout, TimeProvider clock, IHostApplicationLifetime lifetime, ILogger<StoreReads> logger, StoreThreads threads)
{
    // One turn a read that may run: taken as it starts, given back as it returns, not when it is given up on.
    private readonly Channel<bool> _turns = Turns(mostStillRunning);
    private int _stillRunning;

    /// <summary>How many reads were given up on and have not returned yet.</summary>
    public int StillRunning => Volatile.Read(ref _stillRunning);

    /// <summary>Refuses a new read while as many as the bound allows, given up on, still run, or once the host begins to stop.</summary>
    /// <exception cref="TimeoutRejectedException">The store is taken as hung.</exception>
    /// <exception cref="ServiceStoppingException">The host began to stop: no read starts, whatever the store's state.</exception>
    public void ThrowIfHung()
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            throw new ServiceStoppingException();
        }

        if (StillRunning >= mostStillRunning)
        {
            throw new TimeoutRejectedException(
                $"{StillRunning} reads of the layer store given up on after LayerStore:Access:PrepareTimeout ({prepareTimeout.TotalSeconds:0.###} s) have not returned yet; the layer store is hung or very slow, try again later.",
                prepareTimeout);
        }
    }

    /// <summary>Runs <paramref name="read"/> as the other overload does, with <c>LayerStore:Access:PrepareTimeout</c> as its time limit.</summary>
    /// <param name="read">The store's synchronous work.</param>
    /// <param name="discard">Releases what a read given up on returns after all.</param>
    /// <param name="requestAborted">The request's token.</param>
    /// <exception cref="OperationCanceledException">The time limit ran out, or the client left.</exception>
    /// <exception cref="ServiceStoppingException">The host began to stop before the read returned.</exception>
    public async ValueTask<T> RunAsync<T>(Func<T> read, Action<T> discard, CancellationToken requestAborted)
    {
        using var timeout = new CancellationTokenSource(prepareTimeout, clock);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, requestAborted);
        return await RunAsync(read, discard, requestAborted, limit.Token).ConfigureAwait(false);
    }

    /// <summary>Runs <paramref name="read"/> on a thread of its own (<see cref="StoreThreads"/>), once fewer reads than the bound run, and waits for it until the time limit says to give up or the host begins to stop.</summary>
    /// <param name="read">The store's synchronous work.</param>
    /// <param name="discard">Releases what a read given up on returns after all (an opened layer's descriptors).</param>
    /// <param name="requestAborted">The request's token: a client that leaves is not answered, so its read is waited for, not given up on, until the host begins to stop.</param>
    /// <param name="cancellationToken">The time limit's token, linked to the request's.</param>
    /// <exception cref="ServiceStoppingException">The host began to stop before the read returned; the read, if it had started, is given up on.</exception>
    public async ValueTask<T> RunAsync<T>(Func<T> read, Action<T> discard, CancellationToken requestAborted, CancellationToken cancellationToken)
    {
        var stopping = lifetime.ApplicationStopping;
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping);
        try
        {
            await _turns.Reader.ReadAsync(waiting.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ServiceStoppingException();
        }

        var running = threads.Run(read);
        _ = running.ContinueWith(
            static (_, turns) => ((ChannelWriter<bool>)turns!).TryWrite(true),
            _turns.Writer,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        try
        {
            return await running.WaitAsync(waiting.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (requestAborted.IsCancellationRequested)
        {
            // As when the read ran on the request's own thread: the request, and its export slot, end with the read,
            // or with the stop, which starts no other export.
            await ((Task)running).WaitAsync(stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            GiveUp(running, discard);
            throw;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The stop's doing; outside a stop, a cancellation the read threw itself stays its failure, as below.
            GiveUp(running, discard);
            throw new ServiceStoppingException();
        }
        catch (OperationCanceledException)
        {
            GiveUp(running, discard);
            throw;
        }
    }

    private static Channel<bool> Turns(int count)
    {
        var turns = Channel.CreateBounded<bool>(count);
        for (var turn = 0; turn < count; turn++)
        {
            turns.Writer.TryWrite(true);
        }

        return turns;
    }

    // A read done just as it was given up on (or cancelled by itself) is not counted; what any returns is nobody's.
    private void GiveUp<T>(Task<T> running, Action<T> discard)
    {
        var stillRunning = !running.IsCompleted;
        if (stillRunning)
        {
            Interlocked.Increment(ref _stillRunning);
        }

        _ = running.ContinueWith(
            late =>
            {
                try
                {
                    if (late.IsCompletedSuccessfully)
                    {
                        discard(late.Result);
                    }
                }
                catch (Exception e)
                {
                    // Nobody waits for this continuation: unlogged, the failure (descriptors left open) would be lost.
                    DiscardFailed(logger, e);
                }
                finally
                {
                    if (stillRunning)
                    {
                        Interlocked.Decrement(ref _stillRunning);
                    }
                }

                // Its failure has no one left to hear it; read, it is not reported as unobserved.
                _ = late.Exception;
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A layer store read given up on returned after all, and releasing what it returned failed")]
    private static partial void DiscardFailed(ILogger logger, Exception exception);
}
