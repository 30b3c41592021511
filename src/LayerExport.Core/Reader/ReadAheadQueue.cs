using System.Runtime.ExceptionServices;

namespace LayerExport.Core.Reader;

/// <summary>Hands what one reading thread reads ahead to an asynchronous writer, in order, within a byte budget.</summary>
/// <remarks>
/// The reading thread reserves what an item will hold (and, for content it copies, a slot of one
/// <see cref="ReadAheadRing"/> per queue), then publishes the item; the writer takes items in the order they were
/// published and gives their bytes back when it is done with them. A failure takes its place after the items read
/// before it. One item may always be held, however large, so the reading thread never stalls on an empty queue.
/// Each side wakes the other in batches, not per item: a wake-up is a futex call and a thread switch, dearer than
/// reading a small file. A waiting writer is woken after <c>wakeWriterAfter</c> items (or when the reading thread is
/// about to wait itself, or ends); a waiting reading thread once half its budget and queue are free.
/// </remarks>
/// <typeparam name="T">What is read ahead.</typeparam>
/// <param name="budget">Bytes held ahead at most (one item excepted).</param>
/// <param name="maxItems">Items held ahead at most.</param>
/// <param name="wakeWriterAfter">Items published before a waiting writer is woken.</param>
internal sealed class ReadAheadQueue<T>(int budget, int maxItems, int wakeWriterAfter) : IDisposable
    where T : class
{
    private readonly Queue<Item> _queue = new();
    private readonly object _gate = new();
    // Taken at the first slot asked for: a layer of large files never needs it.
    private ReadAheadRing? _ring;
    private long _held;
    private bool _ended;
    private bool _stopping;
    private bool _readingThreadWaits;
    private int _unannounced;
    private TaskCompletionSource? _writerWaits;

    /// <summary>Bytes held ahead right now.</summary>
    public long HeldBytes
    {
        get
        {
            lock (_gate)
            {
                return _held;
            }
        }
    }

    /// <summary>True once <see cref="Stop"/> was called: the reading thread should end.</summary>
    public bool Stopping => Volatile.Read(ref _stopping);

    /// <summary>The next item, null once the reading thread ended without failing; rethrows its failure in its place.</summary>
    public async ValueTask<T?> TakeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wake;
            lock (_gate)
            {
                if (_queue.TryDequeue(out var item))
                {
                    _held -= item.HeldUntilTaken;
                    if (_readingThreadWaits && (_queue.Count <= maxItems / 2 || (item.HeldUntilTaken > 0 && _held <= budget / 2)))
                    {
                        Monitor.Pulse(_gate);
                    }

                    item.Failure?.Throw();
                    return item.Value;
                }

                if (_ended)
                {
                    return null;
                }

                _writerWaits ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _unannounced = 0;
                wake = _writerWaits.Task;
            }

            await wake.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>On the reading thread: waits until <paramref name="bytes"/> more fit the budget and, when <paramref name="slotLength"/> is not 0, a ring slot of that length is free.</summary>
    /// <returns>False, with nothing reserved, when the queue is stopping.</returns>
    public bool TryReserve(int bytes, int slotLength, out ReadAheadRing.Slot slot)
    {
        lock (_gate)
        {
            slot = default;
            while (!_stopping && ((_held > 0 && _held + bytes > budget) || (slotLength > 0 && !(_ring ??= new ReadAheadRing(budget)).TryTake(slotLength, out slot))))
            {
                WaitForRoom();
            }

            if (_stopping)
            {
                return false;
            }

            _held += bytes;
            return true;
        }
    }

    /// <summary>Gives back reserved bytes, and the slot if there is one; from any thread.</summary>
    public void Release(int bytes, ReadAheadRing.Slot? slot)
    {
        lock (_gate)
        {
            _held -= bytes;
            if (slot is { } taken)
            {
                _ring?.Free(taken);
            }

            if (_readingThreadWaits && _held <= budget / 2)
            {
                Monitor.Pulse(_gate);
            }
        }
    }

    /// <summary>On the reading thread: queues <paramref name="item"/>, whose <paramref name="heldUntilTaken"/> reserved bytes are given back when the writer takes it.</summary>
    /// <returns>False when the queue is stopping: the item was not queued and stays the caller's.</returns>
    public bool Publish(T item, int heldUntilTaken)
    {
        lock (_gate)
        {
            while (_queue.Count >= maxItems && !_stopping)
            {
                WaitForRoom();
            }

            if (_stopping)
            {
                return false;
            }

            _queue.Enqueue(new Item(item, null, heldUntilTaken));
            if (++_unannounced >= wakeWriterAfter)
            {
                WakeWriter();
            }

            return true;
        }
    }

    /// <summary>On the reading thread, as it ends: the writer takes <paramref name="failure"/> (when set) after every item, then the end.</summary>
    public void End(ExceptionDispatchInfo? failure)
    {
        lock (_gate)
        {
            if (failure is not null)
            {
                _queue.Enqueue(new Item(null, failure, 0));
            }

            _ended = true;
            WakeWriter();
        }
    }

    /// <summary>Tells the reading thread to end and wakes it where it waits for room.</summary>
    public void Stop()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Once the reading thread has ended: the items the writer never took.</summary>
    public IEnumerable<T> Drain()
    {
        lock (_gate)
        {
            var left = new List<T>(_queue.Count);
            while (_queue.TryDequeue(out var item))
            {
                if (item.Value is { } value)
                {
                    left.Add(value);
                }
            }

            return left;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            _ring?.Dispose();
        }
    }

    // Called under the lock: whatever was queued is announced before the reading thread sleeps.
    private void WaitForRoom()
    {
        WakeWriter();
        _readingThreadWaits = true;
        Monitor.Wait(_gate);
        _readingThreadWaits = false;
    }

    private void WakeWriter()
    {
        _unannounced = 0;
        if (_writerWaits is { } waiter)
        {
            _writerWaits = null;
            waiter.SetResult();
        }
    }

    // HeldUntilTaken: reserved bytes given back when the writer takes the item (an entry's extended attributes, say).
    private readonly record struct Item(T? Value, ExceptionDispatchInfo? Failure, int HeldUntilTaken);
}
