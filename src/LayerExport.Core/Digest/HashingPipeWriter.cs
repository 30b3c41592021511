using System.IO.Hashing;
using System.IO.Pipelines;

namespace LayerExport.Core.Digest;

/// <summary>Passes writes through to another pipe while hashing every byte advanced, on another thread.</summary>
/// <remarks>
/// Bytes are written straight into the inner pipe's memory and copied aside for <see cref="ConcurrentSha256"/>;
/// a flush also waits until the hash has nearly caught up, which bounds the copies held per export. Their XXH3-128
/// (<see cref="SealedChecksum"/>) is taken as they are advanced: it is fast enough to need no thread of its own.
/// </remarks>
/// <param name="inner">Where the bytes go.</param>
/// <param name="hashes">False: no SHA-256, for a tar whose digest another check already fixes (<see cref="Export.ExpectedTar.FixedByBody"/>, <see cref="Export.ExpectedTar.CheckedByChecksum"/>).</param>
public sealed class HashingPipeWriter(PipeWriter inner, bool hashes = true) : PipeWriter, IDisposable
{
    private readonly ConcurrentSha256? _sha256 = hashes ? new() : null;
    private readonly XxHash128 _checksum = new();
    private Memory<byte> _lastMemory;

    /// <summary>Whether the bytes are hashed with SHA-256.</summary>
    public bool Hashes => _sha256 is not null;

    /// <summary>Bytes advanced so far.</summary>
    public long Length { get; private set; }

    /// <summary>Bytes copied aside and not hashed yet: for tests of the bound a flush keeps.</summary>
    internal long PendingBytes => _sha256?.PendingBytes ?? 0;

    /// <summary>The digest of everything advanced so far, once the hashing thread has caught up.</summary>
    public ValueTask<LayerDigest> GetDigestAsync(CancellationToken cancellationToken) =>
        GetDigestAsync(ReadOnlyMemory<byte>.Empty, cancellationToken);

    /// <summary>The digest everything advanced so far would have if <paramref name="followedBy"/> came next; nothing is advanced.</summary>
    /// <exception cref="InvalidOperationException">The writer only counts.</exception>
    public async ValueTask<LayerDigest> GetDigestAsync(ReadOnlyMemory<byte> followedBy, CancellationToken cancellationToken) =>
        LayerDigest.FromHash(await (_sha256 ?? throw new InvalidOperationException("This writer counts its bytes without hashing them."))
            .GetCurrentHashAsync(followedBy, cancellationToken).ConfigureAwait(false));

    /// <summary>The XXH3-128 everything advanced so far would have if <paramref name="followedBy"/> came next; nothing is advanced.</summary>
    public UInt128 GetChecksum(ReadOnlySpan<byte> followedBy)
    {
        var checksum = _checksum.Clone();
        checksum.Append(followedBy);
        return checksum.GetCurrentHashAsUInt128();
    }

    /// <inheritdoc />
    public override void Advance(int bytes)
    {
        _sha256?.Append(_lastMemory.Span[..bytes]);
        _checksum.Append(_lastMemory.Span[..bytes]);
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
    public override async ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        // The bytes leave first; the hash catches up while they are sent.
        var result = await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (_sha256 is not null)
        {
            await _sha256.WaitForBacklogAsync(ConcurrentSha256.MaxPendingAtFlush, cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    /// <inheritdoc />
    public void Dispose() => _sha256?.Dispose();
}
