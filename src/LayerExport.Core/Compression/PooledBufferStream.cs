using System.Buffers;

namespace LayerExport.Core.Compression;

/// <summary>A write-only stream into a pooled, growing buffer; after <see cref="Freeze"/> further writes are dropped.</summary>
/// <remarks>Freezing lets a deflate block keep its sync-flushed bytes while the end-of-stream marker that disposing the compressor writes is dropped.</remarks>
internal sealed class PooledBufferStream(int initialCapacity) : Stream
{
    private int? _frozenLength;

    /// <summary>The pooled buffer; the caller returns it to <see cref="ArrayPool{T}.Shared"/>.</summary>
    public byte[] Buffer { get; private set; } = ArrayPool<byte>.Shared.Rent(initialCapacity);

    /// <summary>Bytes written before freezing, or all bytes written.</summary>
    public int FrozenOrWrittenLength => _frozenLength ?? WrittenLength;

    private int WrittenLength { get; set; }

    /// <summary>Keeps what was written so far and ignores later writes.</summary>
    public void Freeze() => _frozenLength = WrittenLength;

    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override long Length => WrittenLength;

    /// <inheritdoc />
    public override long Position { get => WrittenLength; set => throw new NotSupportedException(); }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_frozenLength is not null)
        {
            return;
        }

        if (WrittenLength + buffer.Length > Buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(Buffer.Length * 2, WrittenLength + buffer.Length));
            Buffer.AsSpan(0, WrittenLength).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(Buffer);
            Buffer = larger;
        }

        buffer.CopyTo(Buffer.AsSpan(WrittenLength));
        WrittenLength += buffer.Length;
    }

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();
}
