using System.IO.Pipelines;
using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>A byte range of a compressed body made again from the tar's start: exactly the body's bytes, and never its last one for a layer that changed.</summary>
public sealed class CompressedRangeTests : IDisposable
{
    private const string LayerId = "layer";

    private readonly TestLayerStore _store = new();

    public CompressedRangeTests()
    {
        var tree = _store.AddLayer(LayerId);
        var random = new Random(6);
        for (var i = 0; i < 40; i++)
        {
            var content = new byte[random.Next(0, 40_000)];
            random.NextBytes(content.AsSpan(0, content.Length / 2));
            tree.File($"dir{i % 5}/file{i}.bin", content);
        }

        tree.SetAllTimes(1_600_000_000);
    }

    public void Dispose() => _store.Dispose();

    [Theory]
    [InlineData(LayerCompression.Zstd)]
    [InlineData(LayerCompression.Gzip)]
    public async Task EveryRangeIsTheSameBytesAsTheWholeBody(LayerCompression compression)
    {
        var (body, known) = await WholeBodyAsync(compression);
        long[] starts = [0, 1, 4, body.Length / 3, body.Length / 2, body.Length - 2, body.Length - 1];
        foreach (var start in starts)
        {
            foreach (var end in new long[] { body.Length, start + 1, Math.Min(body.Length, start + 5000) })
            {
                var (range, error) = await RangeAsync(compression, known, start, end);
                Assert.Null(error);
                Assert.True(body.AsSpan((int)start, (int)(end - start)).SequenceEqual(range), $"{compression} bytes {start}-{end} of {body.Length} differ");
            }
        }
    }

    [Fact]
    public async Task AChangedLayerFailsTheRangeOneByteShort()
    {
        var (body, known) = await WholeBodyAsync(LayerCompression.Zstd);
        var file = Path.Combine(_store.Root, LayerId, "diff", "dir0", "file0.bin");
        var content = await File.ReadAllBytesAsync(file);
        content[^1] ^= 0xFF;
        await File.WriteAllBytesAsync(file, content);
        File.SetLastWriteTimeUtc(file, DateTime.UnixEpoch.AddSeconds(1_600_000_000));

        // The tar keeps its length and every header; its diffID fails the check before the tar's end.
        var (range, error) = await RangeAsync(LayerCompression.Zstd, known, 10, body.Length);
        Assert.NotNull(error);
        Assert.True(range.Length < body.Length - 10, $"{range.Length} bytes of a {body.Length - 10}-byte range got through");

        // Announced with the new tar's diffID, only the body's digest tells: the range still ends one byte short.
        var newDiffId = (await WholeBodyAsync(LayerCompression.None)).Known.DiffId;
        (range, error) = await RangeAsync(LayerCompression.Zstd, known with { DiffId = newDiffId }, 10, body.Length);
        Assert.IsType<InvalidDataException>(error);
        Assert.Equal(body.Length - 10 - 1, range.Length);
    }

    [Fact]
    public async Task ABodyShorterThanTheRangeNeverSendsTheRangesLastByte()
    {
        var (body, known) = await WholeBodyAsync(LayerCompression.Zstd);
        var longer = known with { Size = body.Length + 100 };

        var (range, error) = await RangeAsync(LayerCompression.Zstd, longer, body.Length - 50, body.Length + 100);

        Assert.IsType<InvalidDataException>(error);
        Assert.Equal(50, range.Length);
    }

    // Refused before anything is compressed: the caller has checked the range against the body, so these are its mistakes.
    [Theory]
    [InlineData(0, 1, "known")]
    [InlineData(0, long.MaxValue, "end")]
    [InlineData(5, 5, "start")]
    public async Task ARangeThatIsNotWithinTheBodyIsRefused(long start, long end, string parameter)
    {
        var known = new LayerDescriptor(LayerMediaType.For(LayerCompression.Zstd), new LayerDigest("sha256:" + new string('c', 64)), 1000, new LayerDigest("sha256:" + new string('d', 64)));
        using var store = new NativeLayerStore(_store.Root);
        using var export = new LayerExporter(store).Prepare(LayerId, []);

        var output = new Pipe();

        var refused = await Assert.ThrowsAnyAsync<ArgumentException>(
            () => export.WriteCompressedRangeAsync(LayerCompression.Zstd, output.Writer, parameter == "known" ? null! : known, new ExpectedTar(null, known.DiffId), start, end, CancellationToken.None));

        Assert.Equal(parameter == "known" ? typeof(ArgumentNullException) : typeof(ArgumentOutOfRangeException), refused.GetType());
        Assert.Equal(parameter, refused.ParamName);
    }

    private async Task<(byte[] Body, LayerDescriptor Known)> WholeBodyAsync(LayerCompression compression)
    {
        using var store = new NativeLayerStore(_store.Root);
        using var export = new LayerExporter(store).Prepare(LayerId, []);
        var (body, summary) = await PipeCollector.CollectAsync(output => export.WriteAsync(compression, output, expected: null, CancellationToken.None));
        Assert.Equal(body.Length, summary!.Size);
        return (body, new LayerDescriptor(LayerMediaType.For(compression), summary.Digest, summary.Size, summary.DiffId));
    }

    private async Task<(byte[] Range, Exception? Error)> RangeAsync(LayerCompression compression, LayerDescriptor known, long start, long end)
    {
        using var store = new NativeLayerStore(_store.Root);
        using var export = new LayerExporter(store).Prepare(LayerId, []);
        try
        {
            var (range, _) = await PipeCollector.CollectAsync<object?>(async output =>
            {
                await export.WriteCompressedRangeAsync(compression, output, known, new ExpectedTar(null, known.DiffId), start, end, CancellationToken.None);
                return null;
            });
            return (range, null);
        }
        catch (PipeCollector.CollectedException e)
        {
            return (e.Collected, e.InnerException);
        }
    }
}
