using System.Buffers;
using System.IO.Pipelines;
using LayerExport.Core.Tar;

namespace LayerExportApi.Layers;

/// <summary>Keeps a response body's first bytes from the server until its first flush, so that a failure before then can still be answered with a status.</summary>
/// <remarks>
/// Kestrel takes body bytes into its own buffer before the response starts and cannot drop them again: a problem
/// written after a failure would follow them. Here at most <see cref="Window"/> bytes (one flush's worth) are held.
/// The first flush, a write (which flushes too), or a request for more room than the window has left hands them
/// over; from then on every call goes straight through, so only that first window is ever copied.
/// </remarks>
internal sealed class HeldBodyWriter(PipeWriter inner) : PipeWriter, IDisposable
{
    /// <summary>The most bytes held back.</summary>
    public const int Window = TarStreamWriter.FlushThreshold;

    private byte[]? _held;
    private int _length;

    /// <summary>True once anything reached the server's writer: from then on a failure cannot be answered with a status.</summary>
    public bool HandedOver { get; private set; }

    /// <inheritdoc />
    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (!HandedOver && _length + Math.Max(sizeHint, 1) <= Window)
        {
            _held ??= ArrayPool<byte>.Shared.Rent(Window);
            return _held.AsMemory(_length, Window - _length);
        }

        HandOver();
        return inner.GetMemory(sizeHint);
    }

    /// <inheritdoc />
    public override Span<byte> GetSpan(int sizeHint = 0) => HandedOver ? inner.GetSpan(sizeHint) : GetMemory(sizeHint).Span;

    /// <inheritdoc />
    public override void Advance(int bytes)
    {
        if (HandedOver)
        {
            inner.Advance(bytes);
            return;
        }

        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytes, Window - _length);
        _length += bytes;
    }

    /// <inheritdoc />
    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        HandOver();
        return inner.FlushAsync(cancellationToken);
    }

    /// <inheritdoc />
    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        HandOver();
        return inner.WriteAsync(source, cancellationToken);
    }

    /// <inheritdoc />
    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    /// <inheritdoc />
    public override void Complete(Exception? exception = null)
    {
        HandOver();
        inner.Complete(exception);
    }

    /// <inheritdoc />
    public void Dispose() => Release();

    private void HandOver()
    {
        if (HandedOver)
        {
            return;
        }

        HandedOver = true;
        if (_held is not null)
        {
            inner.Write(_held.AsSpan(0, _length));
            Release();
        }
    }

    private void Release()
    {
        if (_held is not null)
        {
            ArrayPool<byte>.Shared.Return(_held);
            _held = null;
        }
    }
}
