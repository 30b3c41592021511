using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Reader;

/// <summary>Reads a layer's entries ahead on a thread of its own, small files' content included.</summary>
/// <remarks>
/// On trees of small files the export is bound by system calls (list, stat, open, read, close), which GNU tar
/// makes one after the other. Here they run on another core while the writer encodes, hashes and sends what
/// was read before; entries still come out in the reader's order, so the bytes are the same. Small files are
/// read whole (one byte past the end too, so a file that grew is still caught by the writer) into slots of one
/// <see cref="ReadAheadRing"/> per export; larger ones are only opened and are read by the writer straight into
/// the output. What is held ahead is bounded by a byte budget, a large file counting as
/// <see cref="SmallFileLimit"/> bytes, which also bounds open descriptors, and every entry's extended attributes
/// counting as their bytes.
/// </remarks>
internal sealed class PrefetchingEntryReader : ILayerEntryReader
{
    /// <summary>Files up to this size are read ahead in full.</summary>
    public const int SmallFileLimit = 256 * 1024;

    /// <summary>Bytes of content (and large files' stand-in cost, and extended attributes) held ahead of the writer at most.</summary>
    public const int Budget = 1024 * 1024;

    private const int MaxEntriesAhead = 512;

    // Each side wakes the other in batches, not per entry: a wake-up is a futex call and a thread switch, dearer
    // than reading a small file. A waiting writer is woken after this many entries (or when the reading thread
    // is about to wait itself, or ends); a waiting reading thread once half its budget and queue are free.
    private const int WakeWriterAfter = 32;

    private readonly ILayerEntryReader _inner;
    private readonly Queue<Item> _queue = new();
    private readonly object _gate = new();
    private readonly Thread _thread;
    // Cancelled on dispose: the inner reader may be deep in one read (a comparison, a listing) that the queue never sees.
    private readonly CancellationTokenSource _stop = new();
    // Taken at the first small file: a layer of large files never needs it.
    private ReadAheadRing? _ring;
    private long _held;
    private bool _ended;
    private bool _stopping;
    private bool _readingThreadWaits;
    private int _unannounced;
    private TaskCompletionSource? _writerWaits;
    private bool _disposed;

    /// <summary>Starts reading ahead from the reader <paramref name="open"/> makes; this reader owns it from now on.</summary>
    /// <param name="open">Makes the inner reader, with the token that stops it when this reader is disposed.</param>
    public PrefetchingEntryReader(Func<CancellationToken, ILayerEntryReader> open)
    {
        _inner = open(_stop.Token);
        _thread = new Thread(Run) { IsBackground = true, Name = "layer-prefetch" };
        _thread.Start();
    }

    /// <summary>Bytes of content (and large files' stand-in cost, and extended attributes) held ahead right now.</summary>
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

    /// <inheritdoc />
    public bool TryRead([NotNullWhen(true)] out LayerEntry? entry)
    {
        entry = ReadAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return entry is not null;
    }

    /// <inheritdoc />
    public async ValueTask<LayerEntry?> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wake;
            lock (_gate)
            {
                if (_queue.TryDequeue(out var item))
                {
                    _held -= item.Metadata;
                    if (_readingThreadWaits && (_queue.Count <= MaxEntriesAhead / 2 || (item.Metadata > 0 && _held <= Budget / 2)))
                    {
                        Monitor.Pulse(_gate);
                    }

                    item.Failure?.Throw();
                    return item.Entry;
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

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }

        // The inner reader belongs to the thread until it ends, which is at its next look at the token.
        _stop.Cancel();
        _thread.Join();
        _stop.Dispose();
        while (_queue.TryDequeue(out var item))
        {
            item.Entry?.Dispose();
        }

        _inner.Dispose();
        lock (_gate)
        {
            _ring?.Dispose();
        }
    }

    private void Run()
    {
        try
        {
            while (!Volatile.Read(ref _stopping) && _inner.TryRead(out var entry))
            {
                var item = Prepare(entry);
                if (!Publish(item))
                {
                    item.Entry?.Dispose();
                    return;
                }
            }

            End(null);
        }
        catch (Exception e)
        {
            // The failure takes its place in the order: everything read before it is still written.
            End(new Item(null, ExceptionDispatchInfo.Capture(e)));
        }
    }

    private Item Prepare(LayerEntry entry)
    {
        // Extended attributes can be large (XFS keeps up to 64 KiB a value): they count until the writer takes the entry.
        var metadata = XattrBytes(entry.Header);
        if (entry.Content is null)
        {
            if (metadata > 0)
            {
                Reserve(0, metadata, inRing: false);
            }

            return new Item(entry, null, metadata);
        }

        var size = entry.Header.Size;
        var cost = (int)Math.Min(size + 1, SmallFileLimit);
        if (size >= SmallFileLimit)
        {
            Reserve(cost, metadata, inRing: false);
            return new Item(new LayerEntry(entry.Header, new HeldContent(entry.Content, this, cost)) { Identity = entry.Identity }, null, metadata);
        }

        if (Reserve(cost, metadata, inRing: true) is not { } slot)
        {
            entry.Dispose();
            throw new OperationCanceledException("The read-ahead was stopped.");
        }

        try
        {
            var length = ReadAhead(entry, slot.Memory.Span);
            if (length == size)
            {
                // Read whole and of the listed size (a short or long read is left to the writer to report).
                entry.Content.EnsureUnchanged();
            }

            var buffered = new LayerEntry(entry.Header, new BufferedContent(slot, length, this, cost)) { Identity = entry.Identity };
            entry.Dispose();
            return new Item(buffered, null, metadata);
        }
        catch (Exception e) when (e is not LayerExportException)
        {
            entry.Dispose();
            Release(cost + metadata, slot);
            throw new LayerExportException(entry.DisplayPath, e.Message, e);
        }
    }

    // Reads up to the whole buffer (size + 1 bytes), stopping at the end of the file. A regular file on disk reads
    // short only at its end, so there a short read needs no second call to confirm it.
    private static int ReadAhead(LayerEntry entry, Span<byte> buffer)
    {
        var content = entry.Content!;
        var length = 0;
        while (length < buffer.Length)
        {
            var wanted = buffer.Length - length;
            var n = content.Read(buffer[length..], length);
            length += n;
            if (n == 0 || (n < wanted && content.ReadsShortOnlyAtEnd))
            {
                break;
            }
        }

        return length;
    }

    private bool Publish(Item item)
    {
        lock (_gate)
        {
            while (_queue.Count >= MaxEntriesAhead && !_stopping)
            {
                WaitForRoom();
            }

            if (_stopping)
            {
                return false;
            }

            _queue.Enqueue(item);
            if (++_unannounced >= WakeWriterAfter)
            {
                WakeWriter();
            }

            return true;
        }
    }

    private void End(Item? last)
    {
        lock (_gate)
        {
            if (last is { } item)
            {
                _queue.Enqueue(item);
            }

            _ended = true;
            WakeWriter();
        }
    }

    // Waits until the budget has room for the content's cost and the entry's metadata, and for a small file until the
    // ring has a slot for its content; one item may always be held, however large, so the walk never stalls (an
    // empty ring fits any small file). Null only when stopping.
    private ReadAheadRing.Slot? Reserve(int cost, int metadata, bool inRing)
    {
        lock (_gate)
        {
            ReadAheadRing.Slot slot = default;
            while (!_stopping && ((_held > 0 && _held + cost + metadata > Budget) || (inRing && !(_ring ??= new ReadAheadRing(Budget)).TryTake(cost, out slot))))
            {
                WaitForRoom();
            }

            if (_stopping && inRing && slot.Taken is null)
            {
                return null;
            }

            _held += cost + metadata;
            return slot;
        }
    }

    private static int XattrBytes(TarEntryHeader header)
    {
        var bytes = 0;
        foreach (var xattr in header.Xattrs)
        {
            bytes += xattr.Name.Length + xattr.Value.Length;
        }

        return bytes;
    }

    private void Release(int cost, ReadAheadRing.Slot? slot)
    {
        lock (_gate)
        {
            _held -= cost;
            if (slot is { } taken)
            {
                _ring?.Free(taken);
            }

            if (_readingThreadWaits && _held <= Budget / 2)
            {
                Monitor.Pulse(_gate);
            }
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

    // Metadata: the bytes of the entry's extended attributes, held in the budget until the writer takes the entry.
    private readonly record struct Item(LayerEntry? Entry, ExceptionDispatchInfo? Failure, int Metadata = 0);

    // A small file read ahead: served from its ring slot; a slot one byte longer than the header's size tells growth.
    private sealed class BufferedContent(ReadAheadRing.Slot slot, int length, PrefetchingEntryReader owner, int cost) : IEntryContent
    {
        private int _disposed;

        public int Read(Span<byte> destination, long offset)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            if (offset >= length)
            {
                return 0;
            }

            var n = (int)Math.Min(destination.Length, length - offset);
            slot.Memory.Span.Slice((int)offset, n).CopyTo(destination);
            return n;
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Release(cost, slot);
            }
        }
    }

    // A large file only opened ahead; the writer reads it directly.
    private sealed class HeldContent(IEntryContent inner, PrefetchingEntryReader owner, int cost) : IEntryContent
    {
        private int _disposed;

        public int Read(Span<byte> destination, long offset) => inner.Read(destination, offset);

        public void EnsureUnchanged() => inner.EnsureUnchanged();

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                inner.Dispose();
                owner.Release(cost, null);
            }
        }
    }
}
