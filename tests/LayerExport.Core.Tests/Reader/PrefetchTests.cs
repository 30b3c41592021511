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

    private static LayerEntry File(string name, string content) => new(
        new TarEntryHeader { Name = System.Text.Encoding.UTF8.GetBytes(name), Type = TarEntryType.RegularFile, Size = content.Length },
        new BytesContent(System.Text.Encoding.UTF8.GetBytes(content)));

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

    private sealed class BytesContent(byte[] bytes) : IEntryContent
    {
        public int Read(Span<byte> destination, long offset)
        {
            var n = (int)Math.Max(0, Math.Min(destination.Length, bytes.Length - offset));
            bytes.AsSpan((int)Math.Min(offset, bytes.Length), n).CopyTo(destination);
            return n;
        }

        public void Dispose()
        {
        }
    }
}
