using System.Buffers;

namespace LayerExport.Core.Reader;

/// <summary>One buffer, used as a ring, for the small files a read-ahead holds; space is freed in the order it was taken.</summary>
/// <remarks>
/// Renting each file's buffer from the shared pool on the reading thread and returning it on the writer's leaves
/// the pool's per-thread caches empty on one side and overflowing on the other: 64 clients on a layer of small
/// files peaked at 366 MB RSS that way. One buffer per export, rented and returned by the same caller, has no
/// such traffic. Not thread-safe: its owner serialises the calls.
/// </remarks>
internal sealed class ReadAheadRing : IDisposable
{
    private readonly Queue<Taken> _taken = new();
    private byte[]? _buffer;
    private int _head;
    private int _tail;
    private long _used;

    /// <summary>A ring of at least <paramref name="capacity"/> bytes.</summary>
    public ReadAheadRing(int capacity) => _buffer = ArrayPool<byte>.Shared.Rent(capacity);

    private int Capacity => _buffer!.Length;

    /// <summary>Takes <paramref name="length"/> contiguous bytes, or returns false when they do not fit now.</summary>
    public bool TryTake(int length, out Slot slot)
    {
        ObjectDisposedException.ThrowIf(_buffer is null, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Capacity);
        if (_used == 0)
        {
            _head = _tail = 0;
        }

        int start;
        var skipped = 0;
        if (_head >= _tail && _used < Capacity)
        {
            // Free space is after the head and before the tail, across the end of the buffer.
            if (Capacity - _head >= length)
            {
                start = _head;
            }
            else if (_tail >= length)
            {
                skipped = Capacity - _head;
                start = 0;
            }
            else
            {
                slot = default;
                return false;
            }
        }
        else if (_tail - _head >= length)
        {
            start = _head;
        }
        else
        {
            slot = default;
            return false;
        }

        var taken = new Taken(start + length, length + skipped);
        _taken.Enqueue(taken);
        _head = start + length;
        _used += taken.Extent;
        slot = new Slot(_buffer.AsMemory(start, length), taken);
        return true;
    }

    /// <summary>Frees a slot; space comes back once every slot taken before it is freed too.</summary>
    public void Free(Slot slot)
    {
        if (_buffer is null)
        {
            return;
        }

        slot.Taken.Freed = true;
        while (_taken.TryPeek(out var oldest) && oldest.Freed)
        {
            _taken.Dequeue();
            _used -= oldest.Extent;
            _tail = oldest.End == Capacity ? 0 : oldest.End;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Bytes of the ring lent to one file.</summary>
    /// <param name="Memory">The bytes.</param>
    /// <param name="Taken">The ring's record of them.</param>
    public readonly record struct Slot(Memory<byte> Memory, Taken Taken);

    /// <summary>Where a slot ends in the ring and how much it holds, the end of the ring it skipped included.</summary>
    internal sealed class Taken(int end, int extent)
    {
        public int End { get; } = end;

        public int Extent { get; } = extent;

        public bool Freed { get; set; }
    }
}
