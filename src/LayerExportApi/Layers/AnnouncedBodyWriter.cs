using System.IO.Pipelines;
using LayerExport.Core.Reader;

namespace LayerExportApi.Layers;

/// <summary>Passes a compressed body through, failing the export as soon as it would run past the size its descriptor announced.</summary>
/// <remarks>
/// The tar's own length and diffID are checked only at its end, but a layer changed since its descriptor (a whole
/// download may announce the last survey's) can compress worse and pass the announced <c>Content-Length</c> long
/// before that. Stopped here, before the excess reaches <see cref="HeldBodyWriter"/>, that is "the layer changed"
/// (a 503 while nothing has left); let through, Kestrel's framing would stop it with a message naming no cause,
/// and after handing nothing out when it refuses the first write.
/// </remarks>
internal sealed class AnnouncedBodyWriter(PipeWriter inner, long announced, string what) : PipeWriter
{
    private long _written;

    /// <inheritdoc />
    public override void Advance(int bytes)
    {
        Count(bytes);
        inner.Advance(bytes);
    }

    /// <inheritdoc />
    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        Count(source.Length);
        return inner.WriteAsync(source, cancellationToken);
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

    // A change found by the walk is retried and mapped the same way (ExportPreparation.IsChanging, LayerProblems).
    private void Count(int bytes)
    {
        if (_written + bytes > announced)
        {
            throw new LayerChangedException($"the {what} runs past the announced {announced} bytes: the layer changed since its descriptor was computed");
        }

        _written += bytes;
    }
}
