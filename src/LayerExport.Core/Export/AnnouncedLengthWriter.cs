using System.IO.Pipelines;

namespace LayerExport.Core.Export;

/// <summary>Passes a tar through, failing the export as soon as it would run past the length announced for it.</summary>
/// <remarks>
/// A layer that grew since its survey makes a longer tar than the <c>Content-Length</c> sent. Stopped here, before
/// the excess reaches the response, that is the export's own "the layer changed" failure; let through, the
/// server's framing would stop it instead, with a message that names no layer and no cause.
/// </remarks>
internal sealed class AnnouncedLengthWriter(PipeWriter inner, long announced) : PipeWriter
{
    private long _written;

    /// <summary>The writer to hand the tar to: <paramref name="output"/> itself when no length was announced.</summary>
    public static PipeWriter Around(PipeWriter output, ExpectedTar? expected) =>
        expected?.Length is { } length ? new AnnouncedLengthWriter(output, length) : output;

    /// <inheritdoc />
    /// <exception cref="LayerExportException">The tar would pass the announced length: the layer changed on disk.</exception>
    public override void Advance(int bytes)
    {
        if (_written + bytes > announced)
        {
            throw ExpectedTar.Mismatch("(tar length)", $"the tar runs past the announced {announced} bytes");
        }

        _written += bytes;
        inner.Advance(bytes);
    }

    /// <inheritdoc />
    public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

    /// <inheritdoc />
    public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

    /// <inheritdoc />
    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    /// <inheritdoc />
    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    /// <inheritdoc />
    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);
}
