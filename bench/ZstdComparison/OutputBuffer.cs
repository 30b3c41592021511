namespace ZstdComparison;

/// <summary>A write-only stream into a preallocated array, reused across runs so that timing includes no allocation.</summary>
internal sealed class OutputBuffer(int capacity) : Stream
{
    private readonly byte[] _buffer = new byte[capacity];
    private int _length;

    /// <summary>The bytes written since the last <see cref="Reset"/>.</summary>
    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    /// <summary>Free space, for a native encoder writing in place.</summary>
    public Span<byte> Free => _buffer.AsSpan(_length);

    /// <summary>A read-only stream over the bytes written.</summary>
    public Stream OpenRead() => new MemoryStream(_buffer, 0, _length, writable: false);

    /// <summary>Empties the buffer.</summary>
    public void Reset() => _length = 0;

    /// <summary>Records <paramref name="count"/> bytes written into <see cref="Free"/>.</summary>
    public void Advance(int count) => _length += count;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => _length;

    public override long Position { get => _length; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        buffer.CopyTo(_buffer.AsSpan(_length));
        _length += buffer.Length;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
