using System.Buffers;
using System.IO.Pipelines;
using LayerExport.Core.Export;
using LayerExport.Core.Reader;
using LayerExport.Core.Store;
using LayerExport.Core.Tar;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Reader;

/// <summary>Reading ahead on another thread: bounded, in order, failures in their place, nothing left open.</summary>
public sealed class PrefetchTests : IDisposable
{
    private readonly TestLayerStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void ReadingAheadStopsAtTheBudgetWhenNobodyConsumes()
    {
        var tree = _store.AddLayer("many");
        for (var i = 0; i < 200; i++)
        {
            tree.File($"files/f{i:D3}", new byte[100_000]);
        }

        // 200 files of 100 kB are 20 MB; the reader must stop near its 1 MiB budget and wait there.
        AssertStopsAtTheBudgetAndStaysWithin("many", largestItem: 100_001, entries: 201);
    }

    [Fact]
    public void ExtendedAttributesCountInTheBudget()
    {
        var tree = _store.AddLayer("xattrs");
        var value = new byte[3000];
        for (var i = 0; i < 600; i++)
        {
            tree.File($"files/f{i:D3}", []);
            Posix.SetXattr(Path.Combine(tree.Root, $"files/f{i:D3}"), "user.big", value);
        }

        // 600 entries of 3,000 bytes of xattrs are 1.8 MB: the reader must stop at its budget, not at its 512 entries.
        AssertStopsAtTheBudgetAndStaysWithin("xattrs", largestItem: 8_000, entries: 601);
    }

    // A large file is only opened ahead, but it counts as SmallFileLimit bytes: open descriptors stay bounded.
    [Fact]
    public void LargeFilesCountInTheBudget()
    {
        var tree = _store.AddLayer("large");
        for (var i = 0; i < 12; i++)
        {
            tree.File($"files/big{i:D2}", new byte[PrefetchingEntryReader.SmallFileLimit + 1]);
        }

        AssertStopsAtTheBudgetAndStaysWithin("large", largestItem: PrefetchingEntryReader.SmallFileLimit, entries: 13);
    }

    [Fact]
    public void DisposingHalfwayClosesEveryFileAndDirectoryItOpened()
    {
        var tree = _store.AddLayer("large");
        for (var i = 0; i < 40; i++)
        {
            tree.File($"dir{i % 4}/big{i:D2}", new byte[PrefetchingEntryReader.SmallFileLimit + 1]);
        }

        using var store = new NativeLayerStore(_store.Root);
        var diff = Path.Combine(_store.Root, "large", "diff");
        using (var content = store.Open(LayerId.Parse("large")))
        {
            using var reader = new PrefetchingEntryReader(content.CreateReader);
            Assert.True(reader.TryRead(out var first));
            first.Dispose();
            Assert.True(SpinWait.SpinUntil(() => OpenFileDescriptors.Under(diff).Count > 2, TimeSpan.FromSeconds(30)));
        }

        Assert.Empty(OpenFileDescriptors.Under(diff));
    }

    [Fact]
    public async Task AFailureArrivesAfterTheEntriesReadBeforeIt()
    {
        var failure = new LayerExportException("c", "unreadable");
        using var reader = new PrefetchingEntryReader(_ => new ScriptedReader([File("a", "1"), File("b", "22")], failure));

        Assert.Equal("a", (await reader.ReadAsync(CancellationToken.None))!.DisplayPath);
        Assert.Equal("b", (await reader.ReadAsync(CancellationToken.None))!.DisplayPath);
        Assert.Same(failure, await Assert.ThrowsAsync<LayerExportException>(() => reader.ReadAsync(CancellationToken.None).AsTask()));
    }

    [Fact]
    public async Task ASmallFileLongerThanItsHeaderFailsTheExportAsGrown()
    {
        var grown = new LayerEntry(
            new TarEntryHeader { Name = "grown"u8.ToArray(), Type = TarEntryType.RegularFile, Size = 3 },
            new BytesContent("four"u8.ToArray()));
        using var reader = new PrefetchingEntryReader(_ => new ScriptedReader([grown], null));
        var pipe = new Pipe();

        var failure = await Assert.ThrowsAsync<LayerExportException>(() => new LayerTarExport().WriteAsync(reader, pipe.Writer, null, CancellationToken.None));

        Assert.Equal("grown", failure.Path);
        Assert.Contains("grew", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASmallFileChangedWhileItWasReadAheadFailsTheExport()
    {
        var changed = new LayerChangedException("file was changed while being read");
        var content = new BytesContent("abc"u8.ToArray()) { Changed = changed };
        using var reader = new PrefetchingEntryReader(_ => new ScriptedReader([File("changed", content, size: 3)], null));

        var failure = await Assert.ThrowsAsync<LayerExportException>(() => reader.ReadAsync(CancellationToken.None).AsTask());

        Assert.Equal("changed", failure.Path);
        Assert.Same(changed, failure.InnerException);
    }

    // The read-ahead of an empty file asks for one byte; getting it, it leaves the growth to the writer to report.
    [Fact]
    public async Task AnEmptyFileThatGrewBeforeItWasReadAheadFailsTheExportAsGrown()
    {
        using var reader = new PrefetchingEntryReader(_ => new ScriptedReader([File("grown", new BytesContent("x"u8.ToArray()), size: 0)], null));
        var pipe = new Pipe();

        var failure = await Assert.ThrowsAsync<LayerExportException>(() => new LayerTarExport().WriteAsync(reader, pipe.Writer, null, CancellationToken.None));

        Assert.Equal("grown", failure.Path);
        Assert.Contains("grew", failure.Message, StringComparison.Ordinal);
    }

    // A file of exactly the limit is not read ahead: a slot of its size could not hold the byte that shows growth.
    [Fact]
    public async Task AFileOfExactlyTheSmallFileLimitThatGrewFailsTheExportAsGrown()
    {
        var content = new BytesContent(new byte[PrefetchingEntryReader.SmallFileLimit + 1]);
        using var reader = new PrefetchingEntryReader(_ => new ScriptedReader([File("grown", content, size: PrefetchingEntryReader.SmallFileLimit)], null));

        var collected = await Assert.ThrowsAsync<PipeCollector.CollectedException>(() => PipeCollector.CollectAsync(writer => new LayerTarExport().WriteAsync(reader, writer, null, CancellationToken.None)));

        var failure = Assert.IsType<LayerExportException>(collected.InnerException);
        Assert.Equal("grown", failure.Path);
        Assert.Contains("grew", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AReadAheadThatFailsNamesTheFileAndGivesBackWhatItHeld()
    {
        var content = new BytesContent(new byte[1000]) { ReadFailure = new IOException("Input/output error") };
        using var reader = new PrefetchingEntryReader(_ => new ScriptedReader([File("unreadable", content, size: 1000)], null));

        var failure = await Assert.ThrowsAsync<LayerExportException>(() => reader.ReadAsync(CancellationToken.None).AsTask());

        Assert.Equal("unreadable", failure.Path);
        Assert.IsType<IOException>(failure.InnerException);
        Assert.Equal(0, reader.HeldBytes);
        Assert.True(content.Disposed);
    }

    // Content that may read short anywhere (not a file on disk) is read until it says it has ended.
    [Fact]
    public async Task ContentThatReadsInPiecesIsReadAheadWhole()
    {
        var bytes = Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray();
        using var reader = new PrefetchingEntryReader(_ => new ScriptedReader([File("pieces", new BytesContent(bytes) { Piece = 100 }, size: 1000)], null));

        using var entry = (await reader.ReadAsync(CancellationToken.None))!;

        var read = new byte[1001];
        Assert.Equal(1000, entry.Content!.Read(read, 0));
        Assert.Equal(bytes, read[..1000]);
    }

    // A file on disk reads short only at its end: one read (of one byte more than its size) tells it all.
    [Fact]
    public async Task AFileThatReadsShortOnlyAtItsEndIsReadAheadInOneRead()
    {
        var content = new BytesContent(new byte[1000]) { ShortOnlyAtEnd = true };
        using var reader = new PrefetchingEntryReader(_ => new ScriptedReader([File("disk", content, size: 1000)], null));

        using var entry = (await reader.ReadAsync(CancellationToken.None))!;

        Assert.Equal(1, content.Reads);
    }

    // The queue holds 512 entries ahead; the reading thread, stopped at it, must be woken as the writer takes them.
    [Fact]
    public async Task MoreEntriesWithoutContentThanTheQueueHoldsAllArriveInOrder()
    {
        const int Count = 1500;
        var entries = Enumerable.Range(0, Count).Select(i => Directory($"d{i:D4}")).ToList();
        using var reader = new PrefetchingEntryReader(_ => new ScriptedReader(entries, null));

        for (var i = 0; i < Count; i++)
        {
            var entry = await reader.ReadAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal($"d{i:D4}/", entry!.DisplayPath);
        }

        Assert.Null(await reader.ReadAsync(CancellationToken.None));
    }

    // A wake-up costs more than reading a small file, so the writer is woken once a batch is queued; but then it
    // is, even while the walk is still busy with the next entry.
    [Fact]
    public async Task AWaitingWriterIsWokenOnceABatchIsQueuedWhileTheWalkGoesOn()
    {
        GatedReader? inner = null;
        using var reader = new PrefetchingEntryReader(stop => inner = new GatedReader(i => Directory($"d{i:D2}"), 100, [0, 32], stop));
        Assert.True(inner!.WaitUntilPaused());
        var next = reader.ReadAsync(CancellationToken.None).AsTask();

        inner.Resume();
        Assert.True(inner.WaitUntilPaused());

        Assert.Equal("d00/", (await next.WaitAsync(TimeSpan.FromSeconds(30)))!.DisplayPath);
    }

    // Entries without content cost no bytes: only the queue's bound keeps them from piling up ahead of a writer
    // that does not read. Each carries 6 bytes of attributes, so the bytes held count the entries held.
    [Fact]
    public async Task NoMoreThan512EntriesAreReadAheadOfTheWriter()
    {
        const int Count = 1500;
        const int Attributes = 6;
        PrefetchingEntryReader? reader = null;
        GatedReader? inner = null;
        long mostHeld = 0;
        using var prefetch = reader = new PrefetchingEntryReader(stop => inner = new GatedReader(
            i =>
            {
                mostHeld = Math.Max(mostHeld, reader!.HeldBytes);
                return new LayerEntry(new TarEntryHeader
                {
                    Name = System.Text.Encoding.UTF8.GetBytes($"d{i:D4}/"),
                    Type = TarEntryType.Directory,
                    Xattrs = [new Xattr("user.n"u8.ToArray(), [])],
                });
            },
            Count,
            [0],
            stop));
        Assert.True(inner!.WaitUntilPaused());
        inner.Resume();

        // 512 queued and the next one taken from the walk, waiting for room.
        Assert.True(SpinWait.SpinUntil(() => prefetch.HeldBytes >= 513 * Attributes, TimeSpan.FromSeconds(30)), $"held {prefetch.HeldBytes}");
        for (var i = 0; i < Count; i++)
        {
            var entry = await prefetch.ReadAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal($"d{i:D4}/", entry!.DisplayPath);
        }

        Assert.Null(await prefetch.ReadAsync(CancellationToken.None));
        Assert.InRange(mostHeld, 0, 512 * Attributes);
    }

    // One entry is always let through, however large, or a layer with one such entry would never be exported; and
    // it must hold nothing back once taken, or the small files after it stop.
    [Fact]
    public async Task AnEntryWhoseAttributesAloneExceedTheBudgetComesOutAndSoDoTheFilesAfterIt()
    {
        var xattrs = Enumerable.Range(0, 20).Select(i => new Xattr(System.Text.Encoding.UTF8.GetBytes($"user.x{i:D2}"), new byte[64 * 1024])).ToList();
        var huge = new LayerEntry(new TarEntryHeader { Name = "huge/"u8.ToArray(), Type = TarEntryType.Directory, Xattrs = xattrs });
        var files = Enumerable.Range(0, 30).Select(i => File($"f{i:D2}", new BytesContent(new byte[100_000]), size: 100_000));
        using var reader = new PrefetchingEntryReader(_ => new ScriptedReader([huge, .. files], null));

        Assert.Equal("huge/", (await reader.ReadAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30)))!.DisplayPath);
        for (var i = 0; i < 30; i++)
        {
            using var entry = await reader.ReadAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal($"f{i:D2}", entry!.DisplayPath);
        }

        Assert.Null(await reader.ReadAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
    }

    // A small file taken from the walk while the budget is full is open; stopping then must close it, not drop it.
    [Fact]
    public void DisposingWhileASmallFileWaitsForRoomClosesIt()
    {
        var contents = Enumerable.Range(0, 5).Select(_ => new BytesContent(new byte[PrefetchingEntryReader.SmallFileLimit - 1])).ToList();
        ScriptedReader? inner = null;
        using (var reader = new PrefetchingEntryReader(_ => inner = new ScriptedReader(contents.Select((c, i) => File($"f{i}", c, PrefetchingEntryReader.SmallFileLimit - 1)).ToList(), null)))
        {
            // Four fill the budget exactly; the fifth is taken from the walk and waits.
            Assert.True(SpinWait.SpinUntil(() => reader.HeldBytes == PrefetchingEntryReader.Budget && inner!.HandedOut == 5, TimeSpan.FromSeconds(30)), $"held {reader.HeldBytes}");
        }

        Assert.All(contents, c => Assert.True(c.Disposed));
    }

    // The writer reads a file in chunks, or from the middle when it serves a range.
    [Fact]
    public async Task AFileReadAheadReadsTheSameBytesFromAnyOffset()
    {
        var bytes = Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray();
        using var reader = new PrefetchingEntryReader(_ => new ScriptedReader([File("f", new BytesContent(bytes), size: 1000)], null));
        using var entry = (await reader.ReadAsync(CancellationToken.None))!;

        var read = new byte[600];
        Assert.Equal(600, entry.Content!.Read(read, 0));
        Assert.Equal(bytes[..600], read);
        Assert.Equal(400, entry.Content.Read(read, 600));
        Assert.Equal(bytes[600..], read[..400]);
        Assert.Equal(0, entry.Content.Read(read, 1000));
        Assert.Equal(0, entry.Content.Read(read, 2000));
    }

    // Its slot goes back to the ring on dispose and may already hold the next file.
    [Fact]
    public async Task AFileReadAheadCannotBeReadOnceDisposed()
    {
        using var reader = new PrefetchingEntryReader(_ => new ScriptedReader([File("f", "abc")], null));
        var entry = (await reader.ReadAsync(CancellationToken.None))!;

        entry.Dispose();

        Assert.Throws<ObjectDisposedException>(() => entry.Content!.Read(new byte[4], 0));
    }

    // The writer took every queued file and holds them all, so nothing is left to dequeue: giving their room back
    // must itself wake the walk waiting for it, or the next file never comes.
    [Fact]
    public async Task AWalkWaitingForRoomIsWokenWhenTheWriterGivesItBack()
    {
        const int Size = PrefetchingEntryReader.SmallFileLimit - 1;
        using var fifthTaken = new ManualResetEventSlim();
        Thread? walk = null;
        GatedReader? inner = null;
        using var reader = new PrefetchingEntryReader(stop => inner = new GatedReader(
            i =>
            {
                if (i == 4)
                {
                    walk = Thread.CurrentThread;
                    fifthTaken.Set();
                }

                return File($"f{i}", new BytesContent(new byte[Size]), Size);
            },
            5,
            [4],
            stop));
        Assert.True(inner!.WaitUntilPaused());
        var held = new List<LayerEntry>();
        for (var i = 0; i < 4; i++)
        {
            held.Add((await reader.ReadAsync(CancellationToken.None))!);
        }

        // Four fill the budget; the fifth is taken from the walk once the queue is empty and waits for room.
        inner.Resume();
        Assert.True(fifthTaken.Wait(TimeSpan.FromSeconds(30)));
        // Nothing else holds the reader's lock now: a blocked walk is one waiting for room.
        Assert.True(SpinWait.SpinUntil(() => walk!.ThreadState.HasFlag(ThreadState.WaitSleepJoin), TimeSpan.FromSeconds(30)));
        held.ForEach(entry => entry.Dispose());

        Assert.Equal("f4", (await reader.ReadAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30)))!.DisplayPath);
    }

    // The ring is one pooled buffer per export, not one per file, and goes back to the pool on dispose: the shared
    // pool hands the buffer last returned on a thread to the next rent there, with what the ring held still in it.
    [Fact]
    public async Task TheFilesOfAnExportShareOneRingThatGoesBackToTheSharedPool()
    {
        var reader = new PrefetchingEntryReader(_ => new ScriptedReader([File("a", "abc"), File("b", "def")], null));
        using var a = (await reader.ReadAsync(CancellationToken.None))!;
        using var b = (await reader.ReadAsync(CancellationToken.None))!;
        reader.Dispose();

        // Each slot is one byte longer than its file.
        SharedPoolProbe.AssertNextRentHolds(PrefetchingEntryReader.Budget, (0, "abc"u8.ToArray()), (4, "def"u8.ToArray()));
    }

    // The walk may be deep in one listing or comparison, never looking at the queue: the token must stop it.
    [Fact]
    public async Task DisposingWhileTheWalkIsBusyStopsIt()
    {
        GatedReader? inner = null;
        var reader = new PrefetchingEntryReader(stop => inner = new GatedReader(i => Directory($"d{i}"), 10, [0], stop));
        Assert.True(inner!.WaitUntilPaused());

        await Task.Run(reader.Dispose).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void DisposingTwiceIsHarmless()
    {
        var reader = new PrefetchingEntryReader(_ => new ScriptedReader([File("a", "1")], null));
        reader.Dispose();

        Assert.Null(Record.Exception(reader.Dispose));
    }

    private static LayerEntry File(string name, string content) => new(
        new TarEntryHeader { Name = System.Text.Encoding.UTF8.GetBytes(name), Type = TarEntryType.RegularFile, Size = content.Length },
        new BytesContent(System.Text.Encoding.UTF8.GetBytes(content)));

    private static LayerEntry File(string name, IEntryContent content, long size) => new(
        new TarEntryHeader { Name = System.Text.Encoding.UTF8.GetBytes(name), Type = TarEntryType.RegularFile, Size = size },
        content);

    private static LayerEntry Directory(string name) =>
        new(new TarEntryHeader { Name = System.Text.Encoding.UTF8.GetBytes(name + "/"), Type = TarEntryType.Directory });

    // Nobody reads at first: the read-ahead fills its budget to within one item of it, then every entry comes out
    // with the budget never passed, and nothing is held once all are read.
    private void AssertStopsAtTheBudgetAndStaysWithin(string layer, int largestItem, int entries)
    {
        using var store = new NativeLayerStore(_store.Root);
        using var content = store.Open(LayerId.Parse(layer));
        using var reader = new PrefetchingEntryReader(content.CreateReader);

        Assert.True(SpinWait.SpinUntil(() => reader.HeldBytes > PrefetchingEntryReader.Budget - largestItem, TimeSpan.FromSeconds(30)), $"held {reader.HeldBytes}");
        Assert.InRange(reader.HeldBytes, 0, PrefetchingEntryReader.Budget);
        var read = 0;
        while (reader.TryRead(out var entry))
        {
            using (entry)
            {
                Assert.InRange(reader.HeldBytes, 0, PrefetchingEntryReader.Budget);
                read++;
            }
        }

        Assert.Equal(entries, read);
        Assert.Equal(0, reader.HeldBytes);
    }

    private sealed class ScriptedReader(List<LayerEntry> entries, Exception? failure) : ILayerEntryReader
    {
        private int _next;

        public int HandedOut => Volatile.Read(ref _next);

        public bool TryRead([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LayerEntry? entry)
        {
            if (_next < entries.Count)
            {
                entry = entries[_next++];
                return true;
            }

            entry = null;
            return failure is null ? false : throw failure;
        }

        public void Dispose()
        {
        }
    }

    // Hands out entries, stopping before each index in pauses until the test lets it go on.
    private sealed class GatedReader(Func<int, LayerEntry> entryAt, int count, int[] pauses, CancellationToken stop) : ILayerEntryReader
    {
        private readonly SemaphoreSlim _paused = new(0);
        private readonly SemaphoreSlim _resume = new(0);
        private int _next;

        public bool WaitUntilPaused() => _paused.Wait(TimeSpan.FromSeconds(30));

        public void Resume() => _resume.Release();

        public bool TryRead([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LayerEntry? entry)
        {
            if (pauses.Contains(_next))
            {
                _paused.Release();
                _resume.Wait(stop);
            }

            entry = _next < count ? entryAt(_next++) : null;
            return entry is not null;
        }

        public void Dispose()
        {
            _paused.Dispose();
            _resume.Dispose();
        }
    }

    private sealed class BytesContent(byte[] bytes) : IEntryContent
    {
        public int Piece { get; init; } = int.MaxValue;

        public bool ShortOnlyAtEnd { get; init; }

        public Exception? ReadFailure { get; init; }

        public Exception? Changed { get; init; }

        public int Reads { get; private set; }

        public bool Disposed { get; private set; }

        public bool ReadsShortOnlyAtEnd => ShortOnlyAtEnd;

        public int Read(Span<byte> destination, long offset)
        {
            Reads++;
            if (ReadFailure is not null)
            {
                throw ReadFailure;
            }

            var n = (int)Math.Max(0, Math.Min(Math.Min(destination.Length, Piece), bytes.Length - offset));
            bytes.AsSpan((int)Math.Min(offset, bytes.Length), n).CopyTo(destination);
            return n;
        }

        public void EnsureUnchanged()
        {
            if (Changed is not null)
            {
                throw Changed;
            }
        }

        public void Dispose() => Disposed = true;
    }
}
