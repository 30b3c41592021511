using System.Runtime.ExceptionServices;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;

namespace LayerExport.Core.TarSplit;

/// <summary>Reads a tar-split record, and the whole content of its small files, ahead of the assembler on a thread of its own.</summary>
/// <remarks>
/// A reassembled tree of small files is bound by the record's decoding and each file's open, stat, read and close, as
/// a generated one is by its walk (<see cref="PrefetchingEntryReader"/>): here they run on another core while the
/// writer sends what was read before. Parts come out in the record's order and a failure in its place, so the bytes,
/// and the file a failure names, are those the assembler alone would give. A small file is held to the record here as
/// the assembler holds a large one: its size (and ctime, when bounded) as opened, then its bytes read whole, one byte
/// past the end too, against the record's size and CRC-64. Segments' bytes, files' names and small files' slots are held
/// ahead within <see cref="PrefetchingEntryReader.Budget"/>; larger files are left for the writer to open and read into
/// the output.
/// </remarks>
internal sealed class RecordReadAhead : IDisposable
{
    // A file of a tar takes two lines of its record (its header's segment, its file entry) and a third for padding.
    private const int MaxPartsAhead = 1536;
    private const int WakeWriterAfter = 96;

    private readonly TarSplitRecord _record;
    private readonly RecordedFiles _files;
    private readonly ReadAheadQueue<Part> _queue = new(PrefetchingEntryReader.Budget, MaxPartsAhead, WakeWriterAfter);
    private readonly Thread _thread;
    private bool _disposed;

    /// <summary>Starts reading <paramref name="record"/> (not owned, and not to be touched until the end is taken) and the files under <paramref name="root"/> (not owned).</summary>
    /// <param name="record">The layer's tar-split record, read once.</param>
    /// <param name="root">The unpacked layer.</param>
    /// <param name="changedNoLaterThan">When set, the newest ctime (nanoseconds since the epoch) a file read may have.</param>
    public RecordReadAhead(TarSplitRecord record, FileDescriptor root, long? changedNoLaterThan)
    {
        _record = record;
        _files = new RecordedFiles(root, changedNoLaterThan);
        _thread = new Thread(Run) { IsBackground = true, Name = "record-prefetch" };
        _thread.Start();
    }

    /// <summary>Bytes of segments, files' names and small files held ahead right now.</summary>
    public long HeldBytes => _queue.HeldBytes;

    /// <summary>The next part of the record, null at its end (the record is then the caller's again); rethrows a failure in its place.</summary>
    /// <exception cref="LayerExportException">The record is malformed, or a small file is not as the record says.</exception>
    public ValueTask<Part?> TakeAsync(CancellationToken cancellationToken) => _queue.TakeAsync(cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _queue.Stop();
        _thread.Join();
        foreach (var part in _queue.Drain())
        {
            part.Dispose();
        }

        _files.Dispose();
        _queue.Dispose();
    }

    private void Run()
    {
        try
        {
            while (!_queue.Stopping && TarSplitAssembler.TryRead(_record, out var entry))
            {
                if (Prepare(entry) is not { } part)
                {
                    return;
                }

                if (!_queue.Publish(part, LineBytes(entry)))
                {
                    part.Dispose();
                    return;
                }
            }

            _queue.End(null);
        }
        catch (Exception e)
        {
            // Everything read before the failure is still written; the export fails where the assembler alone would.
            _queue.End(ExceptionDispatchInfo.Capture(e));
        }
    }

    // A segment's bytes, or a file's name: a record line may hold megabytes of either, kept until the writer takes it.
    private static int LineBytes(TarSplitEntry entry) => entry.Bytes.Length + entry.Name.Length;

    // The entry as the writer takes it: a small file's content read and checked; null when stopping.
    private Part? Prepare(TarSplitEntry entry)
    {
        var line = LineBytes(entry);
        if (entry.Type == TarSplitEntryType.Segment || entry.Size is 0 or >= PrefetchingEntryReader.SmallFileLimit)
        {
            return line == 0 || _queue.TryReserve(line, 0, out _) ? new Part(entry) : null;
        }

        var cost = (int)entry.Size + 1;
        if (!_queue.TryReserve(cost + line, cost, out var slot))
        {
            return null;
        }

        try
        {
            Read(entry, slot.Memory.Span);
            return new Part(entry, slot, _queue, cost);
        }
        catch (Exception e)
        {
            _queue.Release(cost + line, slot);
            throw e is LayerExportException ? e : new LayerExportException(entry.DisplayName, e.Message, e);
        }
    }

    // Reads the file whole and one byte past its end into the buffer (size + 1 bytes), and checks it against the record.
    private void Read(TarSplitEntry entry, Span<byte> buffer)
    {
        using var file = _files.Open(entry);
        var length = 0;
        while (length < buffer.Length)
        {
            var wanted = buffer.Length - length;
            var read = file.ReadAt(buffer[length..], length);
            length += read;

            // A regular file on disk reads short only at its end: no second call is needed to confirm it.
            if (read == 0 || read < wanted)
            {
                break;
            }
        }

        var size = (int)entry.Size;
        if (length < size)
        {
            throw RecordedFiles.Shrank(entry, length);
        }

        if (length > size)
        {
            throw RecordedFiles.Grew(entry);
        }

        if (Crc64Iso.Append(0, buffer[..size]) is var crc && crc != entry.Checksum)
        {
            throw RecordedFiles.Altered(entry, crc);
        }
    }

    /// <summary>An entry of the record as the writer takes it: a segment, a file it reads itself, or a small file's checked content.</summary>
    internal sealed class Part : IDisposable
    {
        private readonly ReadAheadRing.Slot _slot;
        private readonly ReadAheadQueue<Part>? _owner;
        private readonly int _cost;
        private int _disposed;

        /// <summary>A segment, or a file the writer reads.</summary>
        internal Part(TarSplitEntry entry) => Entry = entry;

        /// <summary>A small file's content, in <paramref name="slot"/>, whose <paramref name="cost"/> goes back to <paramref name="owner"/> on dispose.</summary>
        internal Part(TarSplitEntry entry, ReadAheadRing.Slot slot, ReadAheadQueue<Part> owner, int cost)
        {
            Entry = entry;
            Content = slot.Memory[..(int)entry.Size];
            _slot = slot;
            _owner = owner;
            _cost = cost;
        }

        /// <summary>The record's entry.</summary>
        public TarSplitEntry Entry { get; }

        /// <summary>A small file's bytes, read whole and found as the record says; null for a segment or a file the writer reads.</summary>
        public ReadOnlyMemory<byte>? Content { get; }

        /// <inheritdoc />
        public void Dispose()
        {
            if (_owner is not null && Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _owner.Release(_cost, _slot);
            }
        }
    }
}
