using System.IO.Pipelines;
using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>Cancelling mid-file stops the export at once and closes everything the export opened.</summary>
[Collection(SerialTests.Name)]
public sealed class CancellationExportTests : IDisposable
{
    private const int Block = 512;
    private const int FileSize = 8 * 1024 * 1024;

    private readonly TestLayerStore _store = new();

    public CancellationExportTests()
    {
        var content = new byte[FileSize];
        Array.Fill(content, (byte)0x5A);
        _store.AddLayer("deep")
            .File("a/b/c/big.bin", content)
            .File("a/b/c/z.txt", "after big.bin\n")
            .File("z/after.txt", "after a/\n");
    }

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task CancellingMidFileStopsTheExportAndClosesEveryDescriptor()
    {
        var descriptors = OpenFileDescriptors.Snapshot();
        using var cancellation = new CancellationTokenSource();
        using (var export = new ThrottledExport(_store.Root, "deep", cancellation.Token))
        {
            await export.ReadAtLeastAsync(256 * 1024);

            // Three directories are open below diff/, and big.bin itself, when the token fires.
            await cancellation.CancelAsync();
            var readerSaw = await export.DrainAsync();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => export.Writing);
            Assert.IsAssignableFrom<OperationCanceledException>(readerSaw);
            Assert.Equal(3, export.Progress.EntriesWritten);
            Assert.InRange(export.Received.Length, 256 * 1024, 3 * Block + FileSize);
            Assert.Equal([_store.Root, Path.Combine(_store.Root, "deep", "diff")], OpenFileDescriptors.Under(_store.Root));
        }

        Assert.Empty(OpenFileDescriptors.Under(_store.Root));
        // Descriptors other code opened may have closed meanwhile; none may have been left open.
        Assert.Empty(OpenFileDescriptors.Snapshot().Except(descriptors));
    }

    // The caller completes the output with the failure: were it completed already, its reader would take the bytes
    // sent so far for a whole body.
    [Theory]
    [InlineData("gzip")]
    [InlineData("gzip body range")]
    [InlineData("tar range")]
    [InlineData("gzip range")]
    public async Task ACancelledExportLeavesItsOutputForTheCallerToFail(string kind)
    {
        using var store = new NativeLayerStore(_store.Root);
        using var export = new LayerExporter(store).Prepare("deep", []);
        var (_, gzipped) = await PipeCollector.CollectAsync(output => export.WriteAsync(LayerCompression.Gzip, output, expected: null, CancellationToken.None));
        var known = new LayerDescriptor(LayerMediaType.For(LayerCompression.Gzip), gzipped.Digest, gzipped.Size, gzipped.DiffId);
        export.Survey(CancellationToken.None);
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();
        var pipe = new Pipe();

        var failure = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => kind switch
        {
            "gzip" => export.WriteAsync(LayerCompression.Gzip, pipe.Writer, expected: null, cancellation.Token),
            "gzip body range" => export.WriteCompressedRangeAsync(LayerCompression.Gzip, pipe.Writer, known, new ExpectedTar(null, known.DiffId), 0, 10, cancellation.Token),
            "tar range" => export.WriteTarRangeAsync(pipe.Writer, 0, 10, cancellation.Token),
            _ => export.WriteGzipRangeAsync(pipe.Writer, gzipped.GzipIndex!, 0, 10, cancellation.Token),
        });
        await pipe.Writer.CompleteAsync(failure);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pipe.Reader.ReadAsync());
    }

    [Fact]
    public async Task ExportWithACancelledTokenWritesNothing()
    {
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();
        using var export = new ThrottledExport(_store.Root, "deep", cancellation.Token);

        var readerSaw = await export.DrainAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => export.Writing);
        Assert.IsAssignableFrom<OperationCanceledException>(readerSaw);
        Assert.Empty(export.Received);
        Assert.Equal(0, export.Progress.BytesWritten);
    }
}
