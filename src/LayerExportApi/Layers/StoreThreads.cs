namespace LayerExportApi.Layers;

/// <summary>Background threads of their own for the store's synchronous calls, each kept for the next call while it idles.</summary>
/// <remarks>
/// Store calls must not run on the thread pool: a store hung on a dead network mount blocks its threads for good, and
/// the pool adds about one thread a second once all of its are blocked, so every request would wait behind the hung
/// calls. A new thread for every call costs its start and end (a list of the sample store served at about 1,700
/// requests a second that way, 13,000 on the pool); kept threads cost neither. A thread is given a call only while it
/// idles, so a hung call holds its own thread and no other call waits behind it. A thread idle for
/// <c>idleLifetime</c> ends.
/// </remarks>
internal sealed class StoreThreads(TimeSpan idleLifetime, Action<Thread> start)
{
    /// <summary>Kept threads that end after <paramref name="idleLifetime"/> idle.</summary>
    public StoreThreads(TimeSpan idleLifetime)
        // The request's execution context (its activity, its culture) is not the kept thread's for later calls.
        : this(idleLifetime, static thread => thread.UnsafeStart())
    {
    }

    /// <summary>How long a kept thread waits for its next call before it ends.</summary>
    public static readonly TimeSpan IdleLifetime = TimeSpan.FromSeconds(30);

    // Monitor's wait and pulse, which System.Threading.Lock does not offer.
    private readonly object _gate = new();
    private readonly Queue<StoreCall> _waiting = new();
    private int _idle;
    private int _alive;

    /// <summary>How many threads are running a call or idling.</summary>
    public int Alive
    {
        get
        {
            lock (_gate)
            {
                return _alive;
            }
        }
    }

    /// <summary>Runs <paramref name="call"/> on an idle kept thread, or on a new one if none idles.</summary>
    /// <returns>A task that ends as the call does, with its result or its exception.</returns>
    public Task<T> Run<T>(Func<T> call)
    {
        var work = new StoreCall<T>(call);
        // Taken before a thread has the call, which lets go of the task once it completes it.
        var task = work.Task;
        lock (_gate)
        {
            // Each call queued is one an idle thread has yet to take: queue only while some idle thread is still free.
            if (_idle > _waiting.Count)
            {
                _waiting.Enqueue(work);
                Monitor.Pulse(_gate);
                return task;
            }

            _alive++;
        }

        try
        {
            start(new Thread(() => Serve(work)) { IsBackground = true, Name = "Layer store call" });
        }
        catch (Exception refused)
        {
            // A thread the system refuses (OutOfMemoryException at a pids limit) fails this call as the call's own
            // failure would, so that its caller gives back what it holds for the call (StoreReads' turn).
            lock (_gate)
            {
                _alive--;
            }

            work.Fail(refused);
        }

        return task;
    }

    private void Serve(StoreCall first)
    {
        var call = first;
        while (true)
        {
            call.Run();
            // Idle before the caller hears the result, so a caller that calls again at once finds this thread free.
            lock (_gate)
            {
                _idle++;
            }

            call.Complete();
            lock (_gate)
            {
                while (_waiting.Count == 0)
                {
                    if (!Monitor.Wait(_gate, idleLifetime) && _waiting.Count == 0)
                    {
                        _idle--;
                        _alive--;
                        return;
                    }
                }

                _idle--;
                call = _waiting.Dequeue();
            }
        }
    }

    private abstract class StoreCall
    {
        public abstract void Run();

        public abstract void Complete();
    }

    private sealed class StoreCall<T>(Func<T> call) : StoreCall
    {
        // Continuations run on the pool, never on the kept thread, which would then not be free for the next call.
        private TaskCompletionSource<T>? _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Func<T>? _call = call;
        private T? _result;
        private Exception? _failure;

        public Task<T> Task => _done!.Task;

        public override void Run()
        {
            try
            {
                _result = _call!();
            }
            catch (Exception failure)
            {
                _failure = failure;
            }
        }

        public void Fail(Exception failure)
        {
            _failure = failure;
            Complete();
        }

        public override void Complete()
        {
            var (done, result, failure) = (_done!, _result, _failure);

            // The thread holds its call while it idles, for as long as it lives: what the call captured and returned
            // (an opened layer, its survey) is left to its caller alone.
            (_done, _call, _result, _failure) = (null, null, default, null);
            if (failure is null)
            {
                done.SetResult(result!);
            }
            else
            {
                done.SetException(failure);
            }
        }
    }
}
