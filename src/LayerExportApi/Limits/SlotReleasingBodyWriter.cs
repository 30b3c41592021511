using System.IO.Pipelines;

namespace LayerExportApi.Limits;

/// <summary>Passes a response body of announced length through and gives its export slot back as the last byte goes to the server.</summary>
/// <remarks>
/// A client that knows the length has its download once the last byte arrives and may ask again at once on
/// another connection, as one working through layers one by one does. A slot still held for the work after the
/// body (the descriptor's record, the log line) would refuse that request when <c>Limits:QueuedExports</c> is 0.
/// Given back before the byte is even flushed, the slot is free by the time a client can know the body is whole.
/// A body without a length is ended by its last chunk, which the server writes after the endpoint returns, so its
/// slot is held to the end of the request.
/// </remarks>
internal sealed class SlotReleasingBodyWriter : PipeWriter
{
    private readonly PipeWriter _inner;
    private readonly long _length;
    private readonly ExportSlot _slot;
    private long _written;

    private SlotReleasingBodyWriter(PipeWriter inner, long length, ExportSlot slot)
    {
        _inner = inner;
        _length = length;
        _slot = slot;
    }

    /// <summary>The writer to write the body of <paramref name="context"/>'s response to: <paramref name="body"/> itself when the response has no length or the request no slot.</summary>
    public static PipeWriter Around(PipeWriter body, HttpContext context) =>
        context.Response.ContentLength is { } length && context.Features.Get<ExportSlot>() is { } slot
            ? new SlotReleasingBodyWriter(body, length, slot)
            : body;

    /// <inheritdoc />
    public override void Advance(int bytes)
    {
        // Advanced bytes stay in the server's buffer until the next flush: counted once they are there.
        _inner.Advance(bytes);
        Count(bytes);
    }

    /// <inheritdoc />
    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        // A write flushes too, so the count comes first: the slot goes back before the bytes can reach the client.
        Count(source.Length);
        return _inner.WriteAsync(source, cancellationToken);
    }

    /// <inheritdoc />
    public override Memory<byte> GetMemory(int sizeHint = 0) => _inner.GetMemory(sizeHint);

    /// <inheritdoc />
    public override Span<byte> GetSpan(int sizeHint = 0) => _inner.GetSpan(sizeHint);

    /// <inheritdoc />
    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => _inner.FlushAsync(cancellationToken);

    /// <inheritdoc />
    public override void CancelPendingFlush() => _inner.CancelPendingFlush();

    /// <inheritdoc />
    public override void Complete(Exception? exception = null) => _inner.Complete(exception);

    private void Count(int bytes)
    {
        _written += bytes;
        if (_written >= _length)
        {
            _slot.Dispose();
        }
    }
}
