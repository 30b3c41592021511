using System.IO.Hashing;
using System.Security.Cryptography;

namespace LayerExport.Core.Digest;

/// <summary>A write-only stream that hashes and counts what passes through it to another stream.</summary>
/// <remarks>Its XXH3-128 (<see cref="SealedChecksum"/>) is taken beside the SHA-256, at a tenth of its cost.</remarks>
/// <param name="inner">Where the bytes go.</param>
/// <param name="hashes">False: no SHA-256, for a body whose kept check fixes it (<see cref="Export.ExpectedTar.BodyCheckedByChecksum"/>).</param>
public sealed class HashingStream(Stream inner, bool hashes = true) : Stream
{
    private readonly IncrementalHash? _sha256 = hashes ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
    private readonly XxHash128 _checksum = new();

    /// <summary>Whether the bytes are hashed with SHA-256.</summary>
    public bool Hashes => _sha256 is not null;

    /// <summary>Bytes written so far.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>The digest of everything written so far.</summary>
    /// <exception cref="InvalidOperationException">The stream only takes the checksum.</exception>
    public LayerDigest CurrentDigest =>
        LayerDigest.FromHash((_sha256 ?? throw new InvalidOperationException("This stream takes a checksum of its bytes, not their SHA-256.")).GetCurrentHash());

    /// <summary>The XXH3-128 of everything written so far.</summary>
    public UInt128 Checksum => _checksum.GetCurrentHashAsUInt128();

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

    /// <inheritdoc />
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Hash(buffer.Span);
        return inner.WriteAsync(buffer, cancellationToken);
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Hash(buffer);
        inner.Write(buffer);
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

    private void Hash(ReadOnlySpan<byte> bytes)
    {
        _sha256?.AppendData(bytes);
        _checksum.Append(bytes);
        BytesWritten += bytes.Length;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _sha256?.Dispose();
        }

        base.Dispose(disposing);
    }
}
