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

    // A waiting writer is woken after this many entries (see ReadAheadQueue).
    private const int WakeWriterAfter = 32;

    private readonly ILayerEntryReader _inner;
    private readonly ReadAheadQueue<LayerEntry> _queue = new(Budget, MaxEntriesAhead, WakeWriterAfter);
    private readonly Thread _thread;
    // Cancelled on dispose: the inner reader may be deep in one read (a comparison, a listing) that the queue never sees.
    private readonly CancellationTokenSource _stop = new();
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
    public long HeldBytes => _queue.HeldBytes;

    /// <inheritdoc />
    public bool TryRead([NotNullWhen(true)] out LayerEntry? entry)
    {
        entry = ReadAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return entry is not null;
    }

    /// <inheritdoc />
    public ValueTask<LayerEntry?> ReadAsync(CancellationToken cancellationToken) => _queue.TakeAsync(cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _queue.Stop();

        // The inner reader belongs to the thread until it ends, which is at its next look at the token.
        _stop.Cancel();
        _thread.Join();
        _stop.Dispose();
        foreach (var entry in _queue.Drain())
        {
            entry.Dispose();
        }

        _inner.Dispose();
        _queue.Dispose();
    }

    private void Run()
    {
        try
        {
            while (!_queue.Stopping && _inner.TryRead(out var entry))
            {
                if (Prepare(entry) is not { } prepared)
                {
                    return;
                }

                if (!_queue.Publish(prepared.Entry, prepared.Metadata))
                {
                    prepared.Entry.Dispose();
                    return;
                }
            }

            _queue.End(null);
        }
        catch (Exception e)
        {
            // The failure takes its place in the order: everything read before it is still written.
            _queue.End(ExceptionDispatchInfo.Capture(e));
        }
    }

    // The entry as the writer takes it, and the bytes of its extended attributes, held until it does; null when stopping.
    private (LayerEntry Entry, int Metadata)? Prepare(LayerEntry entry)
    {
        // Extended attributes can be large (XFS keeps up to 64 KiB a value): they count until the writer takes the entry.
        var metadata = XattrBytes(entry.Header);
        if (entry.Content is null)
        {
            if (metadata > 0 && !_queue.TryReserve(metadata, 0, out _))
            {
                entry.Dispose();
                return null;
            }

            return (entry, metadata);
        }

        var size = entry.Header.Size;
        var cost = (int)Math.Min(size + 1, SmallFileLimit);
        if (!_queue.TryReserve(cost + metadata, size >= SmallFileLimit ? 0 : cost, out var slot))
        {
            entry.Dispose();
            return null;
        }

        if (size >= SmallFileLimit)
        {
            return (new LayerEntry(entry.Header, new HeldContent(entry.Content, _queue, cost)) { Identity = entry.Identity }, metadata);
        }

        try
        {
            var length = ReadAhead(entry, slot.Memory.Span);
            if (length == size)
            {
                // Read whole and of the listed size (a short or long read is left to the writer to report).
                entry.Content.EnsureUnchanged();
            }

            var buffered = new LayerEntry(entry.Header, new BufferedContent(slot, length, _queue, cost)) { Identity = entry.Identity };
            entry.Dispose();
            return (buffered, metadata);
        }
        catch (Exception e) when (e is not LayerExportException)
        {
            entry.Dispose();
            _queue.Release(cost + metadata, slot);
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

    private static int XattrBytes(TarEntryHeader header)
    {
        var bytes = 0;
        foreach (var xattr in header.Xattrs)
        {
            bytes += xattr.Name.Length + xattr.Value.Length;
        }

        return bytes;
    }

    // A small file read ahead: served from its ring slot; a slot one byte longer than the header's size tells growth.
    private sealed class BufferedContent(ReadAheadRing.Slot slot, int length, ReadAheadQueue<LayerEntry> owner, int cost) : IEntryContent
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
    private sealed class HeldContent(IEntryContent inner, ReadAheadQueue<LayerEntry> owner, int cost) : IEntryContent
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
