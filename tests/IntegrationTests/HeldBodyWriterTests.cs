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

    private static async Task<byte[]> ReadAsync(Pipe pipe)
    {
        await pipe.Writer.CompleteAsync();
        var read = await pipe.Reader.ReadAsync();
        var bytes = read.Buffer.ToArray();
        pipe.Reader.AdvanceTo(read.Buffer.End);
        return bytes;
    }
}
