using System.IO.Pipelines;

namespace LayerExport.Core.Export;

/// <summary>Passes a tar, or the compressed body carrying it, through, failing the export as soon as it would run past the length announced for it.</summary>
/// <remarks>
/// A layer that grew since its survey makes a longer tar than the length announced, and a layer changed
/// since its descriptor can compress worse and pass the body's announced size long before its tar ends. Stopped
/// here, before the excess reaches the response, that is the export's own "the layer changed" failure (a problem
/// while nothing has left); let through, the server's framing would stop it instead, with a message that names no
/// layer and no cause, and, when it refuses the first write, with no response at all. The last announced byte is
/// held until <see cref="ReleaseAsync"/>: a changed layer whose entries alone fill the announced length (a new small
/// file adds what the end-of-archive blocks take) must not give the client a body of full length before the export
/// finds it wrong, which a reader would take for a complete tar.
/// </remarks>
internal sealed class AnnouncedLengthWriter(PipeWriter inner, long announced, string what) : PipeWriter
{
    private long _written;
    private Memory<byte> _handedOut;
    private byte? _held;

    /// <summary>The writer to hand the tar to: <paramref name="output"/> itself when no length was announced.</summary>
    public static PipeWriter AroundTar(PipeWriter output, ExpectedTar? expected) =>
        expected?.Length is { } length ? new AnnouncedLengthWriter(output, length, "tar") : output;

    /// <summary>The writer to hand the compressed body to: <paramref name="output"/> itself when no size was announced.</summary>
    public static PipeWriter AroundBody(PipeWriter output, ExpectedTar? expected) =>
        expected?.BodySize is { } size ? new AnnouncedLengthWriter(output, size, "compressed body") : output;

    /// <inheritdoc />
    /// <exception cref="LayerExportException">The bytes would pass the announced length: the layer changed on disk.</exception>
    public override void Advance(int bytes)
    {
        if (_written + bytes > announced)
        {
            throw ExpectedTar.Mismatch($"({what} length)", $"the {what} runs past the announced {announced} bytes");
        }

        _written += bytes;
        if (_written == announced && bytes > 0)
        {
            _held = _handedOut.Span[bytes - 1];
            bytes--;
        }

        inner.Advance(bytes);
    }

    /// <summary>Sends the last byte <paramref name="writer"/> holds, if it is one of these, once the export has written and checked everything.</summary>
    public static ValueTask ReleaseAsync(PipeWriter writer, CancellationToken cancellationToken) =>
        writer is AnnouncedLengthWriter announced ? announced.SendHeldAsync(cancellationToken) : ValueTask.CompletedTask;

    /// <inheritdoc />
    public override Memory<byte> GetMemory(int sizeHint = 0) => _handedOut = inner.GetMemory(sizeHint);

    /// <inheritdoc />
    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    private async ValueTask SendHeldAsync(CancellationToken cancellationToken)
    {
        if (_held is { } last)
        {
            inner.GetSpan(1)[0] = last;
            inner.Advance(1);
            _held = null;
            await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    /// <inheritdoc />
    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    /// <inheritdoc />
    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);
}
