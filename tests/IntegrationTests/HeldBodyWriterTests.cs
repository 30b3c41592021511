using System.Buffers;
using System.IO.Pipelines;
using LayerExportApi.Layers;

namespace IntegrationTests;

/// <summary>What <see cref="HeldBodyWriter"/> lets through to the server's writer, and when.</summary>
public sealed class HeldBodyWriterTests
{
    [Fact]
    public async Task BytesWrittenBeforeTheFirstFlushReachNothingUntilIt()
    {
        var pipe = new Pipe();
        using var held = new HeldBodyWriter(pipe.Writer);

        held.Write("tar bytes"u8);

        Assert.False(held.HandedOver);
        Assert.Equal(0, pipe.Writer.UnflushedBytes);
        await held.FlushAsync();
        Assert.True(held.HandedOver);
        Assert.Equal("tar bytes"u8.ToArray(), await ReadAsync(pipe));
    }

    [Fact]
    public async Task ARequestForMoreRoomThanTheWindowLeftHandsOverFirstAndThenGoesStraightThrough()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        using var held = new HeldBodyWriter(pipe.Writer);
        held.Write(new byte[HeldBodyWriter.Window - 1]);

        var memory = held.GetMemory(2);
        memory.Span[..2].Fill(7);
        held.Advance(2);

        Assert.True(held.HandedOver);
        Assert.Equal(HeldBodyWriter.Window + 1, pipe.Writer.UnflushedBytes);
        await held.FlushAsync();
        var body = await ReadAsync(pipe);
        Assert.Equal(HeldBodyWriter.Window + 1, body.Length);
        Assert.Equal([0, 7, 7], body[^3..]);
    }

    [Fact]
    public void NothingIsAdvancedPastTheWindow()
    {
        using var held = new HeldBodyWriter(new Pipe().Writer);
        held.GetMemory(HeldBodyWriter.Window);

        Assert.Throws<ArgumentOutOfRangeException>(() => held.Advance(HeldBodyWriter.Window + 1));
    }

    [Fact]
    public void AWholeWindowIsHeldUntilTheFirstFlush()
    {
        var pipe = new Pipe();
        using var held = new HeldBodyWriter(pipe.Writer);
        held.Write(new byte[HeldBodyWriter.Window - 1]);

        // The last byte of the window still fits: asking for exactly the room left is not a reason to hand over.
        held.GetSpan(1)[0] = 7;
        held.Advance(1);

        Assert.False(held.HandedOver);
        Assert.Equal(0, pipe.Writer.UnflushedBytes);
    }

    [Fact]
    public void NothingIsAdvancedPastWhatTheWindowHasLeft()
    {
        using var held = new HeldBodyWriter(new Pipe().Writer);
        held.Write(new byte[10]);
        held.GetMemory();

        Assert.Throws<ArgumentOutOfRangeException>(() => held.Advance(HeldBodyWriter.Window - 9));
    }

    [Fact]
    public void ANegativeAdvanceIsRefused()
    {
        using var held = new HeldBodyWriter(new Pipe().Writer);
        held.GetMemory();

        Assert.Throws<ArgumentOutOfRangeException>(() => held.Advance(-1));
    }

    [Fact]
    public async Task AWriteAsyncGoesOutAfterWhatIsHeld()
    {
        var pipe = new Pipe();
        using var held = new HeldBodyWriter(pipe.Writer);
        held.Write("tar "u8);

        await held.WriteAsync("bytes"u8.ToArray());

        Assert.True(held.HandedOver);
        Assert.Equal("tar bytes"u8.ToArray(), await ReadAsync(pipe));
    }

    [Fact]
    public void CompletingHandsOverWhatIsHeldAndCompletesTheServersWriter()
    {
        var pipe = new Pipe();
        using var held = new HeldBodyWriter(pipe.Writer);
        held.Write("tar bytes"u8);

        held.Complete();

        Assert.True(held.HandedOver);
        Assert.True(pipe.Reader.TryRead(out var read), "nothing reached the reader");
        Assert.True(read.IsCompleted);
        Assert.Equal("tar bytes"u8.ToArray(), read.Buffer.ToArray());
    }

    private static async Task<byte[]> ReadAsync(Pipe pipe)
    {
        await pipe.Writer.CompleteAsync();
        var read = await pipe.Reader.ReadAsync();
        var bytes = read.Buffer.ToArray();
        pipe.Reader.AdvanceTo(read.Buffer.End);
        return bytes;
    }
}
