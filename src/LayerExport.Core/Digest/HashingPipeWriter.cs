using System.IO.Pipelines;
using System.Security.Cryptography;

namespace LayerExport.Core.Digest;

/// <summary>Passes writes through to another pipe while hashing every byte advanced, with no extra copy.</summary>
public sealed class HashingPipeWriter(PipeWriter inner) : PipeWriter, IDisposable
{
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private Memory<byte> _lastMemory;

    /// <summary>Bytes advanced so far.</summary>
    public long Length { get; private set; }

    /// <summary>The digest of everything advanced so far.</summary>
    public LayerDigest CurrentDigest => LayerDigest.FromHash(_sha256.GetCurrentHash());

    /// <inheritdoc />
    public override void Advance(int bytes)
    {
        _sha256.AppendData(_lastMemory.Span[..bytes]);
        _lastMemory = _lastMemory[bytes..];
        Length += bytes;
        inner.Advance(bytes);
    }

    /// <inheritdoc />
    public override Memory<byte> GetMemory(int sizeHint = 0) => _lastMemory = inner.GetMemory(sizeHint);

    /// <inheritdoc />
    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    /// <inheritdoc />
    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    /// <inheritdoc />
    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    /// <inheritdoc />
    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _sha256.Dispose();
}
