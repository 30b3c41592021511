using System.IO.Pipelines;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.TarSplit;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>A record and its small files read ahead: bounded, in the record's order, each file held to the record and read from its own directory.</summary>
public sealed class RecordReadAheadTests : IDisposable
{
    private static readonly byte[] Header = [.. Enumerable.Repeat((byte)'h', 512)];

    private readonly TempDirectory _root = new("layerexport-record-ahead-");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task ReadingAheadStopsAtTheBudgetWhenNobodyTakesAndEveryPartArrivesInOrder()
    {
        // 200 files of 100 kB are 20 MB; the read-ahead must stop near its 1 MiB budget and wait there.
        var files = Enumerable.Range(0, 200).Select(i => ($"files/f{i:D3}", Content(i, 100_000))).ToList();
        using var root = FileDescriptor.OpenDirectory(_root.Path);
        using var record = SyntheticLayer.OpenRecord(Lines(files));
        using var ahead = new RecordReadAhead(record, root, changedNoLaterThan: null);

        Assert.True(SpinWait.SpinUntil(() => ahead.HeldBytes > PrefetchingEntryReader.Budget - 100_001, TimeSpan.FromSeconds(30)), $"held {ahead.HeldBytes}");
        Assert.InRange(ahead.HeldBytes, 0, PrefetchingEntryReader.Budget);
        var names = new List<string>();
        while (await ahead.TakeAsync(CancellationToken.None) is { } part)
        {
            using (part)
            {
                Assert.InRange(ahead.HeldBytes, 0, PrefetchingEntryReader.Budget);
                if (part.Entry.Type == TarSplitEntryType.File)
                {
                    names.Add(part.Entry.DisplayName);
                    Assert.Equal(files[names.Count - 1].Item2, part.Content!.Value.ToArray());
                }
            }
        }

        Assert.Equal(files.Select(f => f.Item1), names);
        Assert.Equal(0, ahead.HeldBytes);
    }

    [Fact]
    public async Task FilesNamesCountInTheBudgetSoLongNamesDoNotPileUpAhead()
    {
        // A line may be 64 MiB and gzip shrinks a repeated name a thousandfold: without names in the budget, 1536 entries
        // of empty files (directories, links) could be held ahead, 96 GiB from a record of some 100 MB.
        const int nameLength = 200_000;
        var lines = Enumerable.Range(0, 120)
            .Select(i => $$"""{"type":1,"name":"{{new string('n', nameLength - 3)}}{{i:D3}}","size":0,"position":{{i}}}""")
            .Append(SyntheticRecord.Segment(new byte[1024], 120));
        using var gate = new ManualResetEventSlim();
        using var root = FileDescriptor.OpenDirectory(_root.Path);
        using var record = new TarSplitRecord(new GatedStream(SyntheticRecord.Compress(lines), gate), leaveOpen: false);
        using var ahead = new RecordReadAhead(record, root, changedNoLaterThan: null);
        try
        {
            // The writer waits before the first line is read: it is woken once the thread waits for room (or after 96 parts).
            var first = ahead.TakeAsync(CancellationToken.None);
            gate.Set();
            var taken = 0;
            for (var part = await first; part is not null; part = await ahead.TakeAsync(CancellationToken.None))
            {
                using (part)
                {
                    // The thread has read at most what the budget holds (5 names) and the line it waits to queue.
                    taken++;
                    Assert.InRange(ahead.HeldBytes, 0, PrefetchingEntryReader.Budget);
                    Assert.InRange(record.LineNumber, taken, taken + (PrefetchingEntryReader.Budget / nameLength) + 1);
                }
            }

            Assert.Equal(121, taken);
        }
        finally
        {
            gate.Set();
        }
    }

    [Fact]
    public async Task TheSmallFilesOfAnExportShareOneRingThatGoesBackToTheSharedPool()
    {
        using var root = FileDescriptor.OpenDirectory(_root.Path);
        using var record = SyntheticLayer.OpenRecord(Lines([("a", "abc"u8.ToArray()), ("b", "def"u8.ToArray())]));
        var ahead = new RecordReadAhead(record, root, changedNoLaterThan: null);
        while (await ahead.TakeAsync(CancellationToken.None) is { } part)
        {
            part.Dispose();
        }

        ahead.Dispose();

        // Each slot is one byte longer than its file.
        SharedPoolProbe.AssertNextRentHolds(PrefetchingEntryReader.Budget, (0, "abc"u8.ToArray()), (4, "def"u8.ToArray()));
    }

    [Fact]
    public void DisposingHalfwayClosesEveryFileAndDirectoryItOpened()
    {
        var files = Enumerable.Range(0, 40).Select(i => ($"dir{i % 4}/sub/f{i:D2}", Content(i, 100_000))).ToList();
        using var root = FileDescriptor.OpenDirectory(_root.Path);
        using var record = SyntheticLayer.OpenRecord(Lines(files));
        using (var ahead = new RecordReadAhead(record, root, changedNoLaterThan: null))
        {
            // Waiting for room with 1 MiB held, it keeps the directory of the last file read open. Room is reserved
            // before that file's directory is opened, so the held bytes alone may be seen between the two.
            Assert.True(
                SpinWait.SpinUntil(() => ahead.HeldBytes > PrefetchingEntryReader.Budget - 100_001 && OpenFileDescriptors.Under(_root.Path).Any(path => path != _root.Path), TimeSpan.FromSeconds(30)),
                $"held {ahead.HeldBytes}, open {string.Join(", ", OpenFileDescriptors.Under(_root.Path))}");
        }

        Assert.Equal([_root.Path], OpenFileDescriptors.Under(_root.Path));
    }

    [Fact]
    public async Task FilesOfOneNameInDirectoriesOfOneLengthAreEachReadFromTheirOwnDirectory()
    {
        // Small files (read ahead) and large ones (read by the writer), in directories whose paths differ in one
        // byte, visited in turn: a file taken from the directory of the file before it fails its CRC-64.
        var large = PrefetchingEntryReader.SmallFileLimit + 1;
        List<(string, byte[])> files =
        [
            ("d1/f", Content(1, 10)), ("d2/f", Content(2, 10)), ("d1/g", Content(3, 10)),
            ("d1/big", Content(4, large)), ("d2/big", Content(5, large)), ("./d2/../d1/f2", Content(6, 10)),
            ("d2/f2", Content(7, 10)), ("top", Content(8, 10)), ("d1/f3", Content(9, 10)),
        ];
        using var root = FileDescriptor.OpenDirectory(_root.Path);

        Assert.Equal(Tar(files), await ReassembleAsync(root, files, range: false));
        Assert.Equal(Tar(files), await ReassembleAsync(root, files, range: true));
    }

    [Fact]
    public async Task ASmallFileAlteredOnDiskFailsNamingItAfterEveryPartBeforeIt()
    {
        List<(string, byte[])> files = [("a", Content(1, 6)), ("b", Content(2, 700)), ("c", Content(3, 6))];
        var lines = Lines(files);
        var altered = Content(2, 700);
        altered[350] ^= 1;
        File.WriteAllBytes(Path.Combine(_root.Path, "b"), altered);
        using var root = FileDescriptor.OpenDirectory(_root.Path);
        using var record = SyntheticLayer.OpenRecord(lines);
        using var ahead = new RecordReadAhead(record, root, changedNoLaterThan: null);

        var taken = new List<string>();
        var error = await Assert.ThrowsAsync<LayerExportException>(async () =>
        {
            while (await ahead.TakeAsync(CancellationToken.None) is { } part)
            {
                using (part)
                {
                    taken.Add(part.Entry.Type == TarSplitEntryType.File ? part.Entry.DisplayName : "segment");
                }
            }
        });

        Assert.Equal(["segment", "a", "segment", "segment"], taken);
        Assert.Equal("b", error.Path);
        Assert.Contains("does not match the tar-split record's checksum", Assert.IsType<LayerChangedException>(error.InnerException).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, "shrank to 350 bytes while being read; the tar-split record says 700")]
    [InlineData(true, "grew past the 700 bytes the tar-split record says while being read")]
    public void ASmallFileThatChangesLengthAfterItIsOpenedFailsNamingIt(bool grow, string reason)
    {
        List<(string, byte[])> files = [("a", Content(1, 6)), ("b", Content(2, 700))];
        var lines = Lines(files);
        var path = Path.Combine(_root.Path, "b");
        using var root = FileDescriptor.OpenDirectory(_root.Path);
        var changed = 0;

        // b is changed at the first read made while it is open: after its open, whose status said 700 bytes.
        var error = Record.Exception(() => SyscallRace.AtRead(
            () =>
            {
                using var record = SyntheticLayer.OpenRecord(lines);
                using var ahead = new RecordReadAhead(record, root, changedNoLaterThan: null);
                while (ahead.TakeAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult() is { } part)
                {
                    part.Dispose();
                }

                return 0;
            },
            () =>
            {
                if (changed == 0 && OpenFileDescriptors.Under(_root.Path).Contains(path))
                {
                    changed = 1;
                    using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
                    file.SetLength(grow ? 701 : 350);
                }
            }));

        var failure = Assert.IsType<LayerExportException>(error);
        Assert.Equal("b", failure.Path);
        Assert.Equal($"b: {reason}", Assert.IsType<LayerChangedException>(failure.InnerException).Message);
    }

    [Fact]
    public async Task AFileBesideTheDirectoryOfTheFileBeforeItIsReadFromItsOwnDirectory()
    {
        // d/g shares its first directory with d/sub/f before it, one level up: the directory kept for d/sub is not d.
        List<(string, byte[])> files = [("d/sub/f", Content(1, 10)), ("d/g", Content(2, 10)), ("d/sub/h", Content(3, 10))];
        using var root = FileDescriptor.OpenDirectory(_root.Path);

        Assert.Equal(Tar(files), await ReassembleAsync(root, files, range: false));
    }

    [Fact]
    public async Task ASmallFileOfAnotherSizeThanTheRecordsFailsNamingItAndIsClosed()
    {
        List<(string, byte[])> files = [("a", Content(1, 6)), ("b", Content(2, 700))];
        var lines = Lines(files);
        File.WriteAllBytes(Path.Combine(_root.Path, "b"), Content(2, 699));
        using var root = FileDescriptor.OpenDirectory(_root.Path);
        using (var record = SyntheticLayer.OpenRecord(lines))
        using (var ahead = new RecordReadAhead(record, root, changedNoLaterThan: null))
        {
            var error = await Assert.ThrowsAsync<LayerExportException>(async () =>
            {
                while (await ahead.TakeAsync(CancellationToken.None) is { } part)
                {
                    part.Dispose();
                }
            });

            Assert.Equal("b", error.Path);
            Assert.Equal("b: is 699 bytes on disk, the tar-split record says 700", Assert.IsType<LayerChangedException>(error.InnerException).Message);
        }

        Assert.Equal([_root.Path], OpenFileDescriptors.Under(_root.Path));
    }

    [Fact]
    public async Task TheWriterTakesPartsWhileTheRecordIsStillBeingRead()
    {
        // Half the record arrives, then the rest waits: the thread has published hundreds of parts with room for more,
        // and the writer waiting for its first is woken by a batch of them, not only once the thread waits or ends.
        var lines = Enumerable.Range(0, 1200)
            .Select(i => $$"""{"type":1,"name":"empty/{{i:D4}}","size":0,"position":{{i}}}""")
            .Append(SyntheticRecord.Segment(new byte[1024], 1200));
        var compressed = SyntheticRecord.Compress(lines);
        using var start = new ManualResetEventSlim();
        using var gate = new ManualResetEventSlim();
        using var root = FileDescriptor.OpenDirectory(_root.Path);
        using var record = new TarSplitRecord(new GatedStream(compressed, gate, compressed.Length / 2, start), leaveOpen: false);
        using var ahead = new RecordReadAhead(record, root, changedNoLaterThan: null);

        // A waiting writer is woken once this many parts are published; the guard only ends a test whose writer never is.
        const int batch = 96;
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            // The writer waits before the thread reads the first line, as it would for a record slow to come.
            var first = ahead.TakeAsync(guard.Token);
            start.Set();
            for (var i = 0; i < batch; i++)
            {
                using var part = i == 0 ? await first : await ahead.TakeAsync(guard.Token);
                Assert.Equal($"empty/{i:D4}", part!.Entry.DisplayName);
            }

            Assert.InRange(record.LineNumber, batch, 1200);
        }
        finally
        {
            start.Set();
            gate.Set();
        }

        var taken = batch;
        while (await ahead.TakeAsync(guard.Token) is { } part)
        {
            part.Dispose();
            taken++;
        }

        Assert.Equal(1201, taken);
    }

    [Fact]
    public void AFileIsReadFromTheDirectoryKeptForTheFileBeforeItThoughThatDirectoryMoved()
    {
        // As a walk reads a directory's files from the directory it opened: d, renamed as d/a is read, still holds d/b,
        // which a lookup from the root by path would no longer find.
        List<(string, byte[])> files = [("d/a", Content(1, 10)), ("d/b", Content(2, 10))];
        var lines = Lines(files);
        using var root = FileDescriptor.OpenDirectory(_root.Path);
        var moved = false;

        var contents = SyscallRace.AtRead(
            () =>
            {
                using var record = SyntheticLayer.OpenRecord(lines);
                using var ahead = new RecordReadAhead(record, root, changedNoLaterThan: null);
                var taken = new List<byte[]>();
                while (ahead.TakeAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult() is { } part)
                {
                    using (part)
                    {
                        if (part.Content is { } content)
                        {
                            taken.Add(content.ToArray());
                        }
                    }
                }

                return taken;
            },
            () =>
            {
                if (!moved)
                {
                    moved = true;
                    Directory.Move(Path.Combine(_root.Path, "d"), Path.Combine(_root.Path, "e"));
                }
            });

        Assert.True(moved);
        Assert.Equal(files.Select(f => f.Item2), contents);
    }

    private static byte[] Content(int seed, int length) => [.. Enumerable.Range(0, length).Select(i => (byte)((i * 7) + seed))];

    // Each file after a 512-byte header segment and followed by its padding, then the end blocks; the files are written.
    private string[] Lines(List<(string Name, byte[] Content)> files)
    {
        var lines = new List<string>();
        var position = 0;
        foreach (var (name, content) in files)
        {
            var path = Path.GetFullPath(Path.Combine(_root.Path, name));
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, content);
            lines.Add(SyntheticRecord.Segment(Header, position++));
            lines.Add(SyntheticRecord.File(name, content, position++));
            lines.Add(SyntheticRecord.Segment(new byte[Padding(content.Length)], position++));
        }

        lines.Add(SyntheticRecord.Segment(new byte[1024], position));
        return [.. lines];
    }

    private static byte[] Tar(List<(string Name, byte[] Content)> files) =>
        [.. files.SelectMany(f => (byte[])[.. Header, .. f.Content, .. new byte[Padding(f.Content.Length)]]), .. new byte[1024]];

    private static int Padding(int length) => (512 - (length % 512)) % 512;

    private async Task<byte[]> ReassembleAsync(FileDescriptor root, List<(string Name, byte[] Content)> files, bool range)
    {
        using var record = SyntheticLayer.OpenRecord(Lines(files));
        var received = new MemoryStream();
        var output = PipeWriter.Create(received, new(leaveOpen: true));
        var assembler = new TarSplitAssembler(root);
        await (range
            ? assembler.WriteRangeAsync(record, output, 0, Tar(files).Length, CancellationToken.None)
            : assembler.WriteAsync(record, output, null, CancellationToken.None));
        await output.CompleteAsync();
        return received.ToArray();
    }

    // A record's bytes whose reads wait for start (when given), and those past the first openBytes for the gate.
    private sealed class GatedStream(byte[] bytes, ManualResetEventSlim gate, int openBytes = 0, ManualResetEventSlim? start = null) : MemoryStream(bytes)
    {
        // MemoryStream's span read comes here too in a derived class.
        public override int Read(byte[] buffer, int offset, int count)
        {
            start?.Wait();
            if (Position >= openBytes)
            {
                gate.Wait();
                return base.Read(buffer, offset, count);
            }

            return base.Read(buffer, offset, (int)Math.Min(count, openBytes - Position));
        }
    }
}
