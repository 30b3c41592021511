namespace LayerExport.Core.Compression;

/// <summary>A write-only stream that passes on only the bytes from <c>skip</c> to <c>skip + take</c> of what is written to it.</summary>
/// <remarks>
/// With <c>holdLastByte</c> the window's last byte stays back until <see cref="ReleaseAsync"/>: a caller that can
/// only check the body once all of it is made releases it after the check, so a failed check leaves the
/// response one byte short, which every client reports as a failed transfer.
/// </remarks>
internal sealed class WindowStream(Stream inner, long skip, long take, bool holdLastByte = false) : Stream
{
    private long _position;
    private byte? _held;

    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Writes the held-back last byte of the window; an empty window has none.</summary>
    /// <exception cref="InvalidOperationException">The window's last byte was never written: the body was shorter than the window.</exception>
    public async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        // A gzip range within the empty final block of a tar of whole blocks asks for no tar byte at all.
        if (take == 0)
        {
            return;
        }

        var held = _held ?? throw new InvalidOperationException($"the body ended at {_position} bytes, before the window's end at {skip + take}");
        _held = null;
        await inner.WriteAsync(new[] { held }, cancellationToken).ConfigureAwait(false);
        await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var (from, to) = Pass(buffer.Span);
        if (to > from)
        {
            await inner.WriteAsync(buffer[from..to], cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        var (from, to) = Pass(buffer);
        if (to > from)
        {
            inner.Write(buffer[from..to]);
        }
    }

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    /// <inheritdoc />
    public override void Flush() => inner.Flush();

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    // The part of the buffer (at the current position) to pass on now; keeps the window's last byte when asked to.
    private (int From, int To) Pass(ReadOnlySpan<byte> buffer)
    {
        var from = (int)Math.Clamp(skip - _position, 0, buffer.Length);
        var to = (int)Math.Clamp(skip + take - _position, 0, buffer.Length);
        _position += buffer.Length;
        if (holdLastByte && to > from && _position >= skip + take)
        {
            _held = buffer[to - 1];
            to--;
        }

        return (from, to);
    }
}
