using LayerExport.Core.Reader;

namespace LayerExport.Core.Tests.Reader;

/// <summary>The read-ahead's ring: contiguous slots, wrapping at the end, space back in the order it was taken.</summary>
public sealed class ReadAheadRingTests
{
    private const int Capacity = 1024;

    [Fact]
    public void SlotsFollowEachOtherAndNeverOverlapLiveOnes()
    {
        using var ring = new ReadAheadRing(Capacity);
        var size = RingSize(ring);
        var live = new Queue<(ReadAheadRing.Slot Slot, byte Mark)>();
        var random = new Random(7);
        for (var round = 0; round < 5_000; round++)
        {
            var length = random.Next(1, size / 3);
            if (ring.TryTake(length, out var slot))
            {
                Assert.Equal(length, slot.Memory.Length);
                var mark = (byte)round;
                slot.Memory.Span.Fill(mark);
                live.Enqueue((slot, mark));
            }
            else
            {
                // Refused only while something is still held.
                Assert.NotEmpty(live);
                FreeOldest();
            }

            if (live.Count > 0 && random.Next(3) == 0)
            {
                FreeOldest();
            }
        }

        void FreeOldest()
        {
            foreach (var (held, mark) in live)
            {
                Assert.True(held.Memory.Span.IndexOfAnyExcept(mark) < 0, "a later slot overwrote a live one");
            }

            ring.Free(live.Dequeue().Slot);
        }
    }

    [Fact]
    public void AFullRingRefusesUntilTheOldestSlotIsFreed()
    {
        using var ring = new ReadAheadRing(Capacity);
        var size = RingSize(ring);
        Assert.True(ring.TryTake(size / 2, out var first));
        Assert.True(ring.TryTake(size / 2, out var second));
        Assert.False(ring.TryTake(1, out _));

        ring.Free(second);
        Assert.False(ring.TryTake(1, out _));

        ring.Free(first);
        Assert.True(ring.TryTake(size, out var whole));
        Assert.Equal(size, whole.Memory.Length);
    }

    [Fact]
    public void ASlotThatDoesNotFitAtTheEndStartsAtTheBeginningOnceThatIsFree()
    {
        using var ring = new ReadAheadRing(Capacity);
        var quarter = RingSize(ring) / 4;
        Assert.True(ring.TryTake(quarter, out var a));
        Assert.True(ring.TryTake(2 * quarter, out var b));
        Assert.True(ring.TryTake(quarter, out var c));
        Assert.False(ring.TryTake(1, out _));

        ring.Free(a);
        Assert.True(ring.TryTake(quarter, out var wrapped));
        ring.Free(b);
        ring.Free(c);
        Assert.True(ring.TryTake(2 * quarter, out var after));

        Assert.True(wrapped.Memory.Span.Overlaps(a.Memory.Span), "the freed first quarter was not reused");
        Assert.False(after.Memory.Span.Overlaps(wrapped.Memory.Span), "a new slot overlaps a live one");
    }

    [Fact]
    public void AFreeGapBetweenAWrappedSlotAndTheTailIsUsedToTheLastByte()
    {
        using var ring = new ReadAheadRing(Capacity);
        var quarter = RingSize(ring) / 4;
        Assert.True(ring.TryTake(quarter, out var a));
        Assert.True(ring.TryTake(3 * quarter, out _));
        ring.Free(a);
        Assert.True(ring.TryTake(quarter / 2, out _));

        // What is left before the tail is exactly the rest of the first quarter.
        Assert.True(ring.TryTake(quarter - (quarter / 2), out var gap));
        Assert.True(gap.Memory.Span.Overlaps(a.Memory.Span), "the gap was not taken from the freed first quarter");
        Assert.False(ring.TryTake(1, out _));
    }

    // A slot larger than the whole ring would never fit, so waiting for it to be freed would wait for ever.
    [Fact]
    public void ASlotLargerThanTheRingIsAnErrorNotAWait()
    {
        using var ring = new ReadAheadRing(Capacity);
        var size = RingSize(ring);

        Assert.Throws<ArgumentOutOfRangeException>(() => ring.TryTake(size + 1, out _));
    }

    [Fact]
    public void ADisposedRingRefusesToLendItsBuffer()
    {
        var ring = new ReadAheadRing(Capacity);
        ring.Dispose();

        Assert.Throws<ObjectDisposedException>(() => ring.TryTake(1, out _));
    }

    // The read-ahead's writer may dispose an entry after the reader, and so the ring, is gone.
    [Fact]
    public void FreeingASlotAfterTheRingIsDisposedDoesNothing()
    {
        var ring = new ReadAheadRing(Capacity);
        Assert.True(ring.TryTake(16, out var slot));
        ring.Dispose();

        Assert.Null(Record.Exception(() => ring.Free(slot)));
    }

    // The ring may be larger than asked (a pooled array): fill it with one-byte slots, count, free them all.
    private static int RingSize(ReadAheadRing ring)
    {
        var slots = new List<ReadAheadRing.Slot>();
        while (ring.TryTake(1, out var slot))
        {
            slots.Add(slot);
        }

        slots.ForEach(ring.Free);
        Assert.True(slots.Count >= Capacity);
        return slots.Count;
    }
}
