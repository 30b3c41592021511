using System.IO.Pipelines;
using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>A cancellation stops a walk that is passing over unchanged files, not only one that emits entries.</summary>
/// <remarks>
/// A snapshot child layer copied from its parent, with the whole-second mtimes every tree unpacked from a tar has,
/// has each unchanged file compared byte by byte with the parent's, all inside one read of the walk. The tests cancel
/// once the first comparison has opened its file and judge by the bytes the process read afterwards, not by time:
/// the comparisons left would read 32 GiB of holes, the rest of the first one alone nearly 2 GiB.
/// </remarks>
[Collection(SerialTests.Name)]
public sealed class WalkCancellationTests : IDisposable
{
    private const int Files = 16;
    private const long FileLength = 1L << 30;

    // Each comparison reads both copies; a walk that stops within its comparison reads a few 64 KiB chunks past the
    // cancellation, one that stops only between files reads what is left of the first comparison's 2 GiB.
    private const long ReadAfterCancellation = FileLength / 4;

    private readonly TestSnapshotStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task CancellingTheSurveyStopsTheComparisonsUnderWay()
    {
        var firstCompared = await MakeChildOfUnchangedParentAsync();
        using var store = new SnapshotLayerStore(_store.Root);
        using var export = new LayerExporter(store).Prepare("child", []);
        using var cancellation = new CancellationTokenSource();

        var surveying = Task.Run(() => export.Survey(cancellation.Token));
        var cancelledAt = CancelOnceOpen(firstCompared, cancellation, surveying);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => surveying);
        Assert.InRange(ReadBytes() - cancelledAt, 0, ReadAfterCancellation);
    }

    [Fact]
    public async Task CancellingAnExportStopsTheReadAheadsComparisonsUnderWay()
    {
        var firstCompared = await MakeChildOfUnchangedParentAsync();
        using var store = new SnapshotLayerStore(_store.Root);
        using var export = new LayerExporter(store).Prepare("child", []);
        using var cancellation = new CancellationTokenSource();
        var pipe = new Pipe();
        var draining = DrainAsync(pipe.Reader);

        // The comparisons run on the read-ahead thread; the writer sees the cancellation at once and then waits for it.
        var writing = Task.Run(() => export.WriteTarAsync(pipe.Writer, cancellation.Token));
        var cancelledAt = CancelOnceOpen(firstCompared, cancellation, writing);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writing);
        await pipe.Writer.CompleteAsync();
        await draining;
        Assert.InRange(ReadBytes() - cancelledAt, 0, ReadAfterCancellation);
    }

    // Returns the parent's copy of the first file the walk compares.
    private async Task<string> MakeChildOfUnchangedParentAsync()
    {
        var parent = _store.AddLayer("base");
        for (var i = 0; i < Files; i++)
        {
            parent.SparseFile($"f{i:D2}", FileLength);
        }

        foreach (var file in Directory.EnumerateFiles(parent.Root))
        {
            File.SetLastWriteTimeUtc(file, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        }

        var child = await _store.CopyLayerAsync("base", "child");
        child.File("a.txt", "the one change\n");
        return Path.Combine(parent.Root, "f00");
    }

    // Returns the bytes the process had read once the cancellation was made.
    private static long CancelOnceOpen(string path, CancellationTokenSource cancellation, Task work)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!IsOpen(path))
        {
            Assert.False(work.IsCompleted || DateTime.UtcNow >= deadline, $"{path} was never seen open for comparison before the work ended");
            Thread.Yield();
        }

        cancellation.Cancel();
        return ReadBytes();
    }

    private static bool IsOpen(string path)
    {
        foreach (var link in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(link).LinkTarget == path)
                {
                    return true;
                }
            }
            catch (IOException)
            {
                // Closed while listed.
            }
        }

        return false;
    }

    // Bytes the process's read calls returned so far, every thread included: holes count as they are read.
    private static long ReadBytes()
    {
        var line = File.ReadLines("/proc/self/io").First(l => l.StartsWith("rchar:", StringComparison.Ordinal));
        return long.Parse(line["rchar:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task DrainAsync(PipeReader reader)
    {
        while (true)
        {
            var result = await reader.ReadAsync();
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }
}
