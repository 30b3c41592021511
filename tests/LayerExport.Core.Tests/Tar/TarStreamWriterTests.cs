using System.Buffers;
using System.IO.Pipelines;
using LayerExport.Core.Reader;
using LayerExport.Core.Tar;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Tar;

/// <summary>How the writer reads files into the pipe, flushes it, honours cancellation and ends the archive.</summary>
/// <remarks>Serial: one test counts the large files the process reads at once, which other tests change.</remarks>
[Collection(SerialTests.Name)]
public sealed class TarStreamWriterTests
{
    [Theory]
    [InlineData(-1, 10)]
    [InlineData(10, 9)]
    public void AWindowBeforeTheTarOrEndingBeforeItStartsIsRefused(long start, long end) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new TarStreamWriter(new Pipe().Writer, start, end));

    [Theory]
    [InlineData(1)]
    [InlineData(700)]
    [InlineData(FileReadSize.Small - 1)]
    [InlineData(FileReadSize.Large + 100)]
    public async Task TheReadThatReachesAFilesEndAsksOneByteMoreAndNoReadFollows(long size)
    {
        var content = new Content(size);

        await new TarStreamWriter(new ExactPipeWriter()).WriteEntryAsync(File(content), CancellationToken.None);

        // The one byte more tells a file that grew, so no read (a system call) is spent on that alone.
        var last = content.Reads[^1];
        Assert.Equal(size + 1, last.Offset + last.Length);
        Assert.DoesNotContain(content.Reads, read => read.Offset >= size);
    }

    [Fact]
    public async Task AFileOfExactlyOneReadAsksThePipeForNoMoreThanThat()
    {
        var output = new ExactPipeWriter();

        await new TarStreamWriter(output).WriteEntryAsync(File(new Content(FileReadSize.Small)), CancellationToken.None);

        // One byte more would make a pooled pipe rent a buffer twice the size for every such file.
        Assert.Equal(FileReadSize.Small, output.LargestRequest);
    }

    [Fact]
    public async Task AFileOfExactlyOneReadThatGrewIsToldWhenThePipeHasRoomToSpare()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, minimumSegmentSize: 2 * FileReadSize.Small));
        var tar = new TarStreamWriter(pipe.Writer);

        await Assert.ThrowsAsync<LayerChangedException>(async () => await tar.WriteEntryAsync(File(new Content(FileReadSize.Small, grows: true)), CancellationToken.None));
    }

    [Fact]
    public async Task AFileThatGrewIsToldEvenWhenTheWindowStartsInItsPadding()
    {
        var tar = new TarStreamWriter(new Pipe().Writer, 512 + 700 + 10, long.MaxValue);

        await Assert.ThrowsAsync<LayerChangedException>(async () => await tar.WriteEntryAsync(File(new Content(700, grows: true)), CancellationToken.None));
    }

    [Fact]
    public async Task AFileReadToItsEndIsCheckedForReplacement()
    {
        var tar = new TarStreamWriter(new Pipe().Writer);

        await Assert.ThrowsAsync<LayerChangedException>(async () => await tar.WriteEntryAsync(File(new Content(700, replaced: true)), CancellationToken.None));
    }

    // An empty file has no data to read, but it may have been written to since it was opened: the header's 0 is then stale.
    [Fact]
    public async Task AnEmptyFileThatGrewIsTold()
    {
        var tar = new TarStreamWriter(new Pipe().Writer);

        var error = await Assert.ThrowsAsync<LayerChangedException>(async () => await tar.WriteEntryAsync(File(new Content(0, grows: true)), CancellationToken.None));

        Assert.Equal("file grew past 0 bytes while being read", error.Message);
    }

    [Fact]
    public async Task AnEmptyFileIsCheckedForReplacement()
    {
        var tar = new TarStreamWriter(new Pipe().Writer);

        await Assert.ThrowsAsync<LayerChangedException>(async () => await tar.WriteEntryAsync(File(new Content(0, replaced: true)), CancellationToken.None));
    }

    [Fact]
    public async Task ACancelledWriteStopsBeforeReadingTheFile()
    {
        var content = new Content(700);
        var tar = new TarStreamWriter(new Pipe().Writer);

        await Assert.ThrowsAsync<OperationCanceledException>(async () => await tar.WriteEntryAsync(File(content), new CancellationToken(canceled: true)));

        Assert.Empty(content.Reads);
    }

    [Fact]
    public async Task EntriesWithoutDataAreFlushedOnceABatchHasGathered()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var tar = new TarStreamWriter(pipe.Writer);

        for (var i = 0; i < TarStreamWriter.FlushThreshold / 512; i++)
        {
            await tar.WriteEntryAsync(new LayerEntry(new TarEntryHeader { Name = System.Text.Encoding.ASCII.GetBytes($"d{i}/"), Type = TarEntryType.Directory, Mode = 0x1ED }), CancellationToken.None);
        }

        // A layer of directories and links alone must reach the client in batches too, not all at its end.
        Assert.True(pipe.Reader.TryRead(out var read));
        Assert.Equal(TarStreamWriter.FlushThreshold, read.Buffer.Length);
    }

    [Fact]
    public async Task AFailingLastCheckIsGivenTheEndBlocksAndKeepsThemOut()
    {
        var tar = new TarStreamWriter(new Pipe().Writer);
        await tar.WriteEntryAsync(File(new Content(700)), CancellationToken.None);
        var given = ReadOnlyMemory<byte>.Empty;

        await Assert.ThrowsAsync<InvalidDataException>(async () => await tar.FinishAsync((end, _) =>
        {
            given = end;
            throw new InvalidDataException("the layer changed");
        }, CancellationToken.None));

        Assert.Equal(new byte[1024], given.ToArray());
        Assert.Equal(512 + 1024, tar.BytesWritten);
    }

    [Fact]
    public async Task APartOfALargeFileThatFitsOneSmallReadDoesNotCountAsALargeRead()
    {
        const long size = 3L * FileReadSize.Small;
        var seen = new List<int>();
        var content = new Content(size, duringRead: () =>
        {
            // Two other large downloads at once may still take large reads only if this read is not counted.
            using var second = FileReadSize.Begin(FileReadSize.Small + 1);
            using var third = FileReadSize.Begin(FileReadSize.Small + 1);
            seen.Add(third.Chunk);
        });
        var tar = new TarStreamWriter(new Pipe(new PipeOptions(pauseWriterThreshold: 0)).Writer, size - 1000, long.MaxValue);

        await tar.WriteEntryAsync(File(content), CancellationToken.None);

        Assert.NotEmpty(seen);
        Assert.All(seen, chunk => Assert.Equal(FileReadSize.Large, chunk));
    }

    [Fact]
    public async Task AFileReadWhileManyLargeFilesAreReadTakesCrowdedReads()
    {
        const long size = (3L * FileReadSize.Crowded) + 100;
        var content = new Content(size);

        // Other large downloads at once: the process's memory is what the smaller reads keep down.
        using (LargeFileReads.Begin(FileReadSize.SmallReadsAtOnce))
        {
            await new TarStreamWriter(new ExactPipeWriter()).WriteEntryAsync(File(content), CancellationToken.None);
        }

        Assert.Equal([0, FileReadSize.Crowded, 2L * FileReadSize.Crowded, 3L * FileReadSize.Crowded], content.Reads.Select(read => read.Offset));
        Assert.All(content.Reads, read => Assert.InRange(read.Length, 1, FileReadSize.Crowded));
    }

    private static LayerEntry File(Content content) =>
        new(new TarEntryHeader { Name = "file"u8.ToArray(), Type = TarEntryType.RegularFile, Mode = 0x1A4, Size = content.Size }, content);

    // A file of the given size that may grow while read or be replaced once read; it records every read asked of it.
    private sealed class Content(long size, bool grows = false, bool replaced = false, Action? duringRead = null) : IEntryContent
    {
        public long Size => size;

        public List<(long Offset, int Length)> Reads { get; } = [];

        public int Read(Span<byte> destination, long offset)
        {
            Reads.Add((offset, destination.Length));
            duringRead?.Invoke();
            var count = (int)Math.Clamp((grows ? long.MaxValue : size) - offset, 0, destination.Length);
            destination[..count].Fill((byte)'x');
            return count;
        }

        public void EnsureUnchanged()
        {
            if (replaced)
            {
                throw new LayerChangedException("replaced");
            }
        }

        public void Dispose()
        {
        }
    }

    // Hands out exactly the memory asked for, as a pipe may, and remembers the largest request.
    private sealed class ExactPipeWriter : PipeWriter
    {
        private readonly ArrayBufferWriter<byte> _written = new();

        public int LargestRequest { get; private set; }

        public override void Advance(int bytes) => _written.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0)
        {
            LargestRequest = Math.Max(LargestRequest, sizeHint);
            return _written.GetMemory(Math.Max(sizeHint, 1))[..Math.Max(sizeHint, 1)];
        }

        public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
            new(new FlushResult(isCanceled: false, isCompleted: false));

        public override void CancelPendingFlush()
        {
        }

        public override void Complete(Exception? exception = null)
        {
        }
    }
}
