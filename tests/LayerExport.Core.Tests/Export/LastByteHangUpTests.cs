using System.IO.Pipelines;
using System.Security.Cryptography;
using LayerExport.Core.Compression;
using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>A client that hangs up as soon as it has the last byte still leaves the export its digest to record.</summary>
public sealed class LastByteHangUpTests : IDisposable
{
    private readonly TestLayerStore _store = new();

    public LastByteHangUpTests() => _store.AddLayer("layer").File("a.bin", RandomNumberGenerator.GetBytes(300_000)).File("b.txt", "last\n");

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task TheDigestOfACompleteTarSurvivesAHangUpAfterItsLastFlush()
    {
        var whole = await _store.ExportAsync("layer");
        using var hangUp = new CancellationTokenSource();

        var summary = await ExportAsync(LayerCompression.None, (whole.Length, hangUp));

        Assert.True(hangUp.IsCancellationRequested, "the client never hung up: the test proves nothing");
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(whole)), summary.DiffId.Value);
    }

    [Theory]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    public async Task ACompressedBodyHungUpOnAfterItsLastByteStillCompletes(LayerCompression compression)
    {
        var whole = await ExportAsync(compression);
        using var hangUp = new CancellationTokenSource();

        var summary = await ExportAsync(compression, (whole.Size, hangUp));

        Assert.True(hangUp.IsCancellationRequested, "the client never hung up: the test proves nothing");
        Assert.Equal(whole.Digest, summary.Digest);
    }

    // The request's token is the hang-up's own, so the hang-up is what cancels the export, as a client's does.
    private async Task<ExportSummary> ExportAsync(LayerCompression compression, (long Length, CancellationTokenSource HangUp)? hangUpAfter = null)
    {
        var cancellationToken = hangUpAfter?.HangUp.Token ?? CancellationToken.None;
        using var store = new NativeLayerStore(_store.Root);
        using var export = new LayerExporter(store).Prepare("layer", []);
        var pipe = new Pipe();
        PipeWriter output = hangUpAfter is { } after ? new HangingUpWriter(pipe.Writer, after.Length, after.HangUp) : pipe.Writer;
        var reading = pipe.Reader.AsStream().CopyToAsync(Stream.Null, CancellationToken.None);
        var summary = await export.WriteAsync(compression, output, expected: null, cancellationToken);
        await pipe.Writer.CompleteAsync();
        await reading;
        return summary;
    }

    // Passes everything on, and cancels the request once a flush has sent the whole tar, as a client that has it all hangs up.
    private sealed class HangingUpWriter(PipeWriter inner, long length, CancellationTokenSource hangUp) : PipeWriter
    {
        private long _written;

        public override void Advance(int bytes)
        {
            _written += bytes;
            inner.Advance(bytes);
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override async ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            var result = await inner.FlushAsync(cancellationToken);
            if (_written >= length)
            {
                await hangUp.CancelAsync();
            }

            return result;
        }
    }
}
