using System.Buffers;
using System.IO.Pipelines;
using LayerExport.Core.Export;

namespace LayerExport.Core.Tests.Export;

/// <summary>Bytes up to the announced length pass through at once except the last, which leaves on release; a byte past it never does.</summary>
public sealed class AnnouncedLengthWriterTests
{
    private static readonly byte[] Body = [.. Enumerable.Range(1, 10).Select(i => (byte)i)];

    [Fact]
    public async Task EveryByteButTheLastPassesAtOnceAndTheLastOnRelease()
    {
        var pipe = new Pipe();
        var writer = new AnnouncedLengthWriter(pipe.Writer, Body.Length, "tar");

        Write(writer, Body[..4]);
        Write(writer, Body[4..]);
        await writer.FlushAsync();
        var beforeRelease = Drain(pipe.Reader);
        await AnnouncedLengthWriter.ReleaseAsync(writer, CancellationToken.None);
        var afterRelease = Drain(pipe.Reader);

        Assert.Equal(Body[..9], beforeRelease);
        Assert.Equal(Body[9..], afterRelease);
    }

    [Fact]
    public async Task AnEmptyAdvanceAtTheAnnouncedEndChangesNothing()
    {
        var pipe = new Pipe();
        var writer = new AnnouncedLengthWriter(pipe.Writer, Body.Length, "tar");

        Write(writer, Body);
        writer.GetSpan();
        writer.Advance(0);
        await AnnouncedLengthWriter.ReleaseAsync(writer, CancellationToken.None);

        Assert.Equal(Body, Drain(pipe.Reader));
    }

    [Fact]
    public async Task AWriteThatWouldPassTheAnnouncedLengthFailsAndNoneOfItLeaves()
    {
        var pipe = new Pipe();
        var writer = new AnnouncedLengthWriter(pipe.Writer, Body.Length, "compressed body");

        Write(writer, Body[..8]);
        Assert.Throws<LayerExportException>(() => Write(writer, Body[..3]));
        await writer.FlushAsync();

        Assert.Equal(Body[..8], Drain(pipe.Reader));
    }

    // A release on every path out of the export must not send the last byte twice, which would lengthen a complete body.
    [Fact]
    public async Task TheHeldByteLeavesOnceHoweverOftenItIsReleased()
    {
        var pipe = new Pipe();
        var writer = new AnnouncedLengthWriter(pipe.Writer, Body.Length, "tar");

        Write(writer, Body);
        await AnnouncedLengthWriter.ReleaseAsync(writer, CancellationToken.None);
        await AnnouncedLengthWriter.ReleaseAsync(writer, CancellationToken.None);
        await writer.FlushAsync();

        Assert.Equal(Body, Drain(pipe.Reader));
    }

    [Fact]
    public async Task ACancelledFlushAndACompletionReachTheResponse()
    {
        var pipe = new Pipe();
        var writer = new AnnouncedLengthWriter(pipe.Writer, Body.Length, "tar");

        writer.CancelPendingFlush();
        var flushed = await writer.FlushAsync();
        writer.Complete(new IOException("the export failed"));

        Assert.True(flushed.IsCanceled);
        await Assert.ThrowsAsync<IOException>(async () => await pipe.Reader.ReadAsync());
    }

    private static void Write(PipeWriter writer, byte[] bytes)
    {
        bytes.CopyTo(writer.GetSpan(bytes.Length));
        writer.Advance(bytes.Length);
    }

    // Everything flushed so far, without waiting for more.
    private static byte[] Drain(PipeReader reader)
    {
        if (!reader.TryRead(out var result))
        {
            return [];
        }

        var bytes = result.Buffer.ToArray();
        reader.AdvanceTo(result.Buffer.End);
        return bytes;
    }
}
