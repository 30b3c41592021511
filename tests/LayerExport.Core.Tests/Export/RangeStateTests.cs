using LayerExport.Core.Compression;
using LayerExport.Core.Export;
using LayerExport.Core.Reader;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>A range of the plain tar or of the gzip body is of the state surveyed before it: a file changed since never lets its last byte out.</summary>
public sealed class RangeStateTests : IDisposable
{
    private const string LayerId = "layer";

    private readonly TestLayerStore _store = new();

    public RangeStateTests()
    {
        var tree = _store.AddLayer(LayerId);
        var random = new Random(7);
        for (var i = 0; i < 8; i++)
        {
            var content = new byte[300_000];
            random.NextBytes(content);
            tree.File($"file{i}.bin", content);
        }

        tree.SetAllTimes(1_600_000_000);
    }

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task AnUnchangedLayerGivesTheWholeRange()
    {
        var whole = await _store.ExportAsync(LayerId);

        var (range, error) = await TarRangeAsync(1000, whole.Length - 1000, change: false);

        Assert.Null(error);
        Assert.Equal(whole.AsSpan(1000, whole.Length - 2000).ToArray(), range);
    }

    [Fact]
    public async Task AFileChangedAfterTheSurveyEndsThePlainRangeOneByteShort()
    {
        var whole = await _store.ExportAsync(LayerId);

        var (range, error) = await TarRangeAsync(1000, whole.Length - 1000, change: true);

        Assert.IsType<LayerChangedException>(error);
        Assert.Equal(whole.Length - 2000 - 1, range.Length);
    }

    [Fact]
    public async Task AFileChangedAfterTheSurveyNeverEndsTheGzipRange()
    {
        using var store = new NativeLayerStore(_store.Root);
        GzipBlockIndex index;
        byte[] body;
        using (var export = new LayerExporter(store).Prepare(LayerId, []))
        {
            (body, var summary) = await PipeCollector.CollectAsync(output => export.WriteAsync(LayerCompression.Gzip, output, expected: null, CancellationToken.None));
            index = summary.GzipIndex!;
        }

        using var changed = new LayerExporter(store).Prepare(LayerId, []);
        changed.Survey(CancellationToken.None);
        ChangeLastFile();
        var failure = await Assert.ThrowsAsync<PipeCollector.CollectedException>(() => PipeCollector.CollectAsync<object?>(async output =>
        {
            await changed.WriteGzipRangeAsync(output, index, 100, body.Length, CancellationToken.None);
            return null;
        }));

        Assert.True(failure.Collected.Length < body.Length - 100, $"{failure.Collected.Length} bytes of a {body.Length - 100}-byte range got through");
    }

    [Fact]
    public async Task AGzipRangeInTheEmptyLastBlockOfATarOfWholeBlocksIsTheBodysLastBytes()
    {
        // Such a tar's body ends in a block of no tar bytes (03 00), whose range asks the tar writer for nothing.
        const int blockSize = 64 * 1024;
        var options = new CompressionOptions { Gzip = { BlockSize = blockSize } };
        var tree = _store.AddLayer("whole-blocks").File("only.bin", new byte[1000]).SetAllTimes(1_600_000_000);
        using var store = new NativeLayerStore(_store.Root);
        long tarSize;
        using (var sized = new LayerExporter(store, options).Prepare("whole-blocks", []))
        {
            tarSize = sized.Survey(CancellationToken.None).TarSize;
        }

        tree.File("only.bin", new byte[1000 + (2 * blockSize) - tarSize]).SetAllTimes(1_600_000_000);
        using var export = new LayerExporter(store, options).Prepare("whole-blocks", []);
        var (body, summary) = await PipeCollector.CollectAsync(output => export.WriteAsync(LayerCompression.Gzip, output, expected: null, CancellationToken.None));
        Assert.Equal(2 * blockSize, export.Survey(CancellationToken.None).TarSize);

        // The trailer's 8 bytes and the empty block's 2 before them.
        var (range, _) = await PipeCollector.CollectAsync<object?>(async output =>
        {
            await export.WriteGzipRangeAsync(output, summary.GzipIndex!, body.Length - 10, body.Length, CancellationToken.None);
            return null;
        });

        Assert.Equal(body[^10..], range);
    }

    private async Task<(byte[] Range, Exception? Error)> TarRangeAsync(long start, long end, bool change)
    {
        using var store = new NativeLayerStore(_store.Root);
        using var export = new LayerExporter(store).Prepare(LayerId, []);
        export.Survey(CancellationToken.None);
        if (change)
        {
            ChangeLastFile();
        }

        try
        {
            var (range, _) = await PipeCollector.CollectAsync<object?>(async output =>
            {
                await export.WriteTarRangeAsync(output, start, end, CancellationToken.None);
                return null;
            });
            return (range, null);
        }
        catch (PipeCollector.CollectedException e)
        {
            return (e.Collected, e.InnerException);
        }
    }

    // Same size, same mtime: only the content (and the ctime, which nobody can set) tells.
    private void ChangeLastFile()
    {
        var file = Path.Combine(_store.Root, LayerId, "diff", "file7.bin");
        var content = File.ReadAllBytes(file);
        content[^1] ^= 0xFF;
        File.WriteAllBytes(file, content);
        File.SetLastWriteTimeUtc(file, DateTime.UnixEpoch.AddSeconds(1_600_000_000));
    }
}
