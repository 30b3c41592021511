using System.IO.Pipelines;
using System.Text;
using LayerExport.Core.Export;
using LayerExport.Core.Reader;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Tar;

/// <summary>A byte window of the tar is exactly that slice, reading no file wholly outside it.</summary>
public class TarStreamWriterWindowTests
{
    [Fact]
    public async Task EveryWindowIsExactlyThatSliceOfTheWholeTar()
    {
        var whole = await WriteAsync(Layer(), 0, long.MaxValue);
        long[] edges = [0, 1, 511, 512, 513, 1000, 1024, 1536, 2048, 3000, 5000, 70_000, 70_100, whole.Bytes.Length - 1025, whole.Bytes.Length - 1];
        foreach (var start in edges)
        {
            foreach (var end in edges.Append(whole.Bytes.Length).Where(e => e > start))
            {
                var part = await WriteAsync(Layer(), start, end);
                Assert.True(
                    whole.Bytes.AsSpan((int)start, (int)(end - start)).SequenceEqual(part.Bytes),
                    $"window {start}-{end} differs from the same slice of the whole tar");
            }
        }
    }

    [Fact]
    public async Task FilesWhollyBeforeTheWindowAreNeverRead()
    {
        var entries = Layer();
        var whole = await WriteAsync(Layer(), 0, long.MaxValue);

        // The window starts inside the last file: the 70,000-byte file before it must not be read at all.
        var result = await WriteAsync(entries, whole.Bytes.Length - 1024 - 512 - 100, whole.Bytes.Length);

        Assert.Equal(0, entries.Single(e => e.Name == "big.bin").BytesRead);
        Assert.True(entries.Single(e => e.Name == "last.txt").BytesRead > 0);
        Assert.Equal(1024 + 512 + 100, result.Bytes.Length);
    }

    [Fact]
    public async Task FilesWhollyAfterTheWindowAreNeverReadAndTheWalkStops()
    {
        var entries = Layer();

        var result = await WriteAsync(entries, 0, 600);

        Assert.Equal(600, result.Bytes.Length);
        Assert.All(entries.Where(e => e.Name != "a.txt"), e => Assert.Equal(0, e.BytesRead));
    }

    // Each entry taken is a file looked at on disk; past the window none of it can reach the range.
    [Fact]
    public async Task ARangeTakesNoEntryFromTheLayerOnceItsWindowIsFilled()
    {
        var reader = new FakeReader(Layer());
        var export = new LayerTarExport();

        // a.txt's header and data block end at 1024.
        var written = await export.WriteRangeAsync(reader, new Pipe().Writer, 0, 1024, CancellationToken.None);

        Assert.Equal(1, reader.Taken);
        Assert.Equal(1, written.Entries);
        Assert.Equal(1, export.EntriesWritten);
    }

    [Fact]
    public async Task AFileEndingWhereTheWindowStartsIsNotEvenProbed()
    {
        var entries = Layer();
        var whole = await WriteAsync(Layer(), 0, long.MaxValue);

        // The window starts at last.txt's header, right after big.bin's padding.
        await WriteAsync(entries, whole.Bytes.Length - 1024 - 512 - 1024, whole.Bytes.Length);

        Assert.All(entries.Where(e => e.Name != "last.txt"), e => Assert.Empty(e.Reads));
    }

    [Fact]
    public async Task AWindowEndingInsideAFileReadsNothingOfItPastTheWindow()
    {
        var entries = Layer();

        // big.bin's data starts at 4096: a.txt takes 1024 bytes, dir/ 512, the long name's PAX header and entry 2048, big.bin's header 512.
        await WriteAsync(entries, 0, 4096 + 1000);

        var big = entries.Single(e => e.Name == "big.bin");
        Assert.NotEmpty(big.Reads);
        Assert.All(big.Reads, read => Assert.True(read.Offset + read.Length <= 1000, $"a read of {read.Length} bytes at {read.Offset}"));
    }

    [Fact]
    public async Task AWindowEndingAtAnEntrysEndIsFilledThere()
    {
        var tar = new TarStreamWriter(new Pipe().Writer, 0, 1024);

        await tar.WriteEntryAsync(Layer()[0].ToEntry(), CancellationToken.None);

        // Filled, the walk takes no further entry from the layer.
        Assert.True(tar.WindowFilled);
    }

    [Fact]
    public async Task EndBlocksPastTheWindowAreCountedButNotWritten()
    {
        var pipe = new Pipe();
        var tar = new TarStreamWriter(pipe.Writer, 0, 100);
        await tar.WriteEntryAsync(Layer()[0].ToEntry(), CancellationToken.None);

        await tar.FinishAsync(beforeEnd: null, CancellationToken.None);
        await pipe.Writer.CompleteAsync();

        // The offset is the tar's, as it is for entries the window leaves out.
        Assert.Equal(100, (await ReadAllAsync(pipe.Reader)).Length);
        Assert.Equal(1024 + 1024, tar.BytesWritten);
    }

    private static async Task<(byte[] Bytes, long Logical)> WriteAsync(List<FakeEntry> entries, long start, long end)
    {
        var pipe = new Pipe();
        var export = new LayerTarExport();
        var reading = ReadAllAsync(pipe.Reader);
        await export.WriteRangeAsync(new FakeReader(entries), pipe.Writer, start, end, CancellationToken.None);
        await pipe.Writer.CompleteAsync();
        return (await reading, export.BytesWritten);
    }

    private static async Task<byte[]> ReadAllAsync(PipeReader reader)
    {
        var output = new MemoryStream();
        await reader.CopyToAsync(output);
        return output.ToArray();
    }

    private static List<FakeEntry> Layer() =>
    [
        new("a.txt", Encoding.ASCII.GetBytes("first file\n")),
        new("dir/", null),
        new("dir/" + new string('n', 120) + ".txt", Encoding.ASCII.GetBytes("a long name forces a PAX header\n")),
        new("big.bin", Enumerable.Range(0, 70_000).Select(i => (byte)(i * 31)).ToArray()),
        new("last.txt", Encoding.ASCII.GetBytes(new string('z', 700))),
    ];

    private sealed class FakeEntry(string name, byte[]? data)
    {
        public string Name { get; } = name;

        public long BytesRead { get; set; }

        public List<(long Offset, int Length)> Reads { get; } = [];

        public LayerEntry ToEntry()
        {
            var header = new TarEntryHeader
            {
                Name = Encoding.UTF8.GetBytes(Name),
                Type = (data is null) ? TarEntryType.Directory : TarEntryType.RegularFile,
                Mode = (data is null) ? 0x1ED : 0x1A4,
                Size = data?.Length ?? 0,
                ModificationTime = 1_600_000_000,
            };
            return new LayerEntry(header, data is null ? null : new Content(this, data));
        }

        private sealed class Content(FakeEntry owner, byte[] data) : IEntryContent
        {
            public int Read(Span<byte> destination, long offset)
            {
                owner.Reads.Add((offset, destination.Length));
                var n = (int)Math.Max(0, Math.Min(destination.Length, data.Length - offset));
                data.AsSpan((int)offset, n).CopyTo(destination);
                owner.BytesRead += n;
                return n;
            }

            public void Dispose()
            {
            }
        }
    }

    private sealed class FakeReader(List<FakeEntry> entries) : ILayerEntryReader
    {
        private int _next;

        public int Taken => _next;

        public bool TryRead([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LayerEntry? entry)
        {
            entry = _next < entries.Count ? entries[_next++].ToEntry() : null;
            return entry is not null;
        }

        public void Dispose()
        {
        }
    }
}
