using System.Buffers;
using System.Security.Cryptography;

namespace LayerExport.Core.Digest;

/// <summary>A SHA-256 fed by the writing thread and computed on a pool thread, from copies of the bytes.</summary>
/// <remarks>
/// With SHA-NI, hashing runs at about 1.5 GB/s: as much CPU as reading a large file and sending it together, and
/// done inline it adds to both. Copying is ten times cheaper, so the bytes are copied into pooled blocks and the
/// blocks are hashed in order by one pool work item at a time, while the writer reads and sends the next ones.
/// The writer waits at its flush points while more than a few blocks are pending, so memory stays bounded.
/// Hashing starts once <see cref="MaxPendingAtFlush"/> bytes wait, or when someone waits for it: every hand-over
/// wakes a pool thread, and in this VM the wake-ups and the idle spinning after them cost more than the hash. Each
/// hash keeps the blocks it rented and reuses them: blocks rented on one thread and returned on another would
/// overflow the shared pool's per-thread caches and leave garbage behind (16 concurrent exports peaked 90 MB higher).
/// </remarks>
public sealed class ConcurrentSha256 : IDisposable
{
    /// <summary>Bytes copied before they are handed to the hashing thread.</summary>
    public const int BlockSize = 64 * 1024;

    /// <summary>Bytes allowed to wait for hashing when the writer flushes.</summary>
    public const int MaxPendingAtFlush = 2 * BlockSize;

    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly Queue<(byte[] Block, int Length)> _queued = new();
    private readonly Stack<byte[]> _free = new();
    private readonly Lock _lock = new();
    private byte[]? _filling;
    private int _filled;
    private long _pending;
    private bool _draining;
    private bool _disposed;
    private TaskCompletionSource? _caughtUp;
    private long _caughtUpAt;

    /// <summary>Bytes handed to the hashing thread and not hashed yet.</summary>
    public long PendingBytes
    {
        get
        {
            lock (_lock)
            {
                return _pending;
            }
        }
    }

    /// <summary>Copies <paramref name="bytes"/> for hashing; never blocks.</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (!bytes.IsEmpty)
        {
            _filling ??= TakeBlock();
            var count = Math.Min(bytes.Length, BlockSize - _filled);
            bytes[..count].CopyTo(_filling.AsSpan(_filled));
            _filled += count;
            bytes = bytes[count..];
            if (_filled == BlockSize)
            {
                Submit();
            }
        }
    }

    /// <summary>Completes once at most <paramref name="maxPending"/> appended bytes are still waiting to be hashed.</summary>
    public ValueTask WaitForBacklogAsync(long maxPending, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_pending <= maxPending)
            {
                return ValueTask.CompletedTask;
            }

            StartDrain();
            _caughtUp ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _caughtUpAt = maxPending;
            return new ValueTask(_caughtUp.Task.WaitAsync(cancellationToken));
        }
    }

    /// <summary>The digest of every byte appended so far; appending may go on afterwards.</summary>
    public ValueTask<byte[]> GetCurrentHashAsync(CancellationToken cancellationToken) =>
        GetCurrentHashAsync(ReadOnlyMemory<byte>.Empty, cancellationToken);

    /// <summary>The digest of every byte appended so far followed by <paramref name="followedBy"/>, which is not appended.</summary>
    public async ValueTask<byte[]> GetCurrentHashAsync(ReadOnlyMemory<byte> followedBy, CancellationToken cancellationToken)
    {
        if (_filled > 0)
        {
            Submit();
        }

        await WaitForBacklogAsync(0, cancellationToken).ConfigureAwait(false);
        if (followedBy.IsEmpty)
        {
            return _sha256.GetCurrentHash();
        }

        using var ahead = _sha256.Clone();
        ahead.AppendData(followedBy.Span);
        return ahead.GetCurrentHash();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_filling is { } filling)
            {
                _free.Push(filling);
                _filling = null;
            }

            if (_draining)
            {
                // The hashing thread releases the queue and the hash when it next looks.
                return;
            }

            Release();
        }
    }

    private byte[] TakeBlock()
    {
        lock (_lock)
        {
            return _free.TryPop(out var block) ? block : ArrayPool<byte>.Shared.Rent(BlockSize);
        }
    }

    private void Submit()
    {
        lock (_lock)
        {
            _queued.Enqueue((_filling!, _filled));
            _pending += _filled;
            _filling = null;
            _filled = 0;
            if (_pending >= MaxPendingAtFlush)
            {
                StartDrain();
            }
        }
    }

    // Called under the lock.
    private void StartDrain()
    {
        if (!_draining)
        {
            _draining = true;
            ThreadPool.UnsafeQueueUserWorkItem(static self => self.Drain(), this, preferLocal: false);
        }
    }

    private void Drain()
    {
        while (true)
        {
            (byte[] Block, int Length) next;
            lock (_lock)
            {
                if (_disposed)
                {
                    _draining = false;
                    Release();
                    return;
                }

                if (!_queued.TryDequeue(out next))
                {
                    _draining = false;
                    return;
                }
            }

            _sha256.AppendData(next.Block, 0, next.Length);
            lock (_lock)
            {
                _free.Push(next.Block);
                _pending -= next.Length;
                if (_caughtUp is { } waiter && _pending <= _caughtUpAt)
                {
                    _caughtUp = null;
                    waiter.SetResult();
                }
            }
        }
    }

    // Called under the lock once no hashing thread runs.
    private void Release()
    {
        while (_queued.TryDequeue(out var queued))
        {
            ArrayPool<byte>.Shared.Return(queued.Block);
        }

        while (_free.TryPop(out var free))
        {
            ArrayPool<byte>.Shared.Return(free);
        }

        _sha256.Dispose();
        _caughtUp?.TrySetException(new ObjectDisposedException(nameof(ConcurrentSha256)));
        _caughtUp = null;
    }
}
