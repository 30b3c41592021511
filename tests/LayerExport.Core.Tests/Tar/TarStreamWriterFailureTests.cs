using System.IO.Pipelines;
using LayerExport.Core.Reader;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Tar;

/// <summary>Where a failed writer stopped decides whether a failure marker may follow: only at an entry's end.</summary>
public sealed class TarStreamWriterFailureTests
{
    [Fact]
    public async Task BetweenEntriesNothingIsOwed()
    {
        var tar = new TarStreamWriter(new Pipe().Writer);
        await tar.WriteEntryAsync(File("a", new Content(700)), CancellationToken.None);

        Assert.Equal(0, tar.PaddingToEntryEnd);
        Assert.Equal(512 + 1024, tar.BytesWritten);
    }

    [Fact]
    public async Task AFailureAfterAFilesLastByteOwesItsPadding()
    {
        var tar = new TarStreamWriter(new Pipe().Writer);

        await Assert.ThrowsAsync<LayerChangedException>(async () => await tar.WriteEntryAsync(File("grew", new Content(700, grows: true)), CancellationToken.None));

        Assert.Equal(512 + 700, tar.BytesWritten);
        Assert.Equal(1024 - 700, tar.PaddingToEntryEnd);
    }

    [Fact]
    public async Task AFailureInsideAFilesDataOwesNoPaddingAMarkerCouldFollow()
    {
        var tar = new TarStreamWriter(new Pipe().Writer);

        await Assert.ThrowsAsync<LayerChangedException>(async () => await tar.WriteEntryAsync(File("shrank", new Content(700, endsAt: 300)), CancellationToken.None));

        Assert.Equal(512 + 300, tar.BytesWritten);
        Assert.Null(tar.PaddingToEntryEnd);
    }

    [Fact]
    public async Task AWindowPastEntriesLongerThanATarCanBeFailsRatherThanWrapping()
    {
        var tar = new TarStreamWriter(new Pipe().Writer, long.MaxValue - 1024, long.MaxValue);
        await tar.WriteEntryAsync(File("first", new Content(1L << 62)), CancellationToken.None);

        var error = await Assert.ThrowsAsync<TarEncodingException>(async () => await tar.WriteEntryAsync(File("second", new Content(1L << 62)), CancellationToken.None));

        Assert.StartsWith("the tar would be longer than 9223372036854775807 bytes", error.Message, StringComparison.Ordinal);
        // The first entry was skipped: its PAX block (the size needs a record), header block and data.
        Assert.Equal((1L << 62) + 1536, tar.BytesWritten);
    }

    private static LayerEntry File(string name, Content content) =>
        new(new TarEntryHeader { Name = System.Text.Encoding.ASCII.GetBytes(name), Type = TarEntryType.RegularFile, Mode = 0x1A4, Size = content.Size }, content);

    // A file of the given size whose reads end early or go on past it, as a file changed while read does.
    private sealed class Content(long size, bool grows = false, long? endsAt = null) : IEntryContent
    {
        public long Size => size;

        public int Read(Span<byte> destination, long offset)
        {
            var end = grows ? long.MaxValue : endsAt ?? size;
            var count = (int)Math.Clamp(end - offset, 0, destination.Length);
            destination[..count].Fill((byte)'x');
            return count;
        }

        public void Dispose()
        {
        }
    }
}
