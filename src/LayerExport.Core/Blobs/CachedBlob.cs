using System.Buffers;
using System.IO.Pipelines;
using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Export;
using LayerExport.Core.Native;

namespace LayerExport.Core.Blobs;

/// <summary>A body kept in the <see cref="BlobCache"/>, opened, with the descriptor it was looked up by.</summary>
/// <remarks>
/// Every read of it checks the whole body, a range too, and holds the last byte sent until the check passed: the
/// XXH3-128 sealed with the digest that the descriptor kept (<see cref="LayerDescriptor.BodyCheck"/>), else the SHA-256
/// itself. What the disk or a process with this user's rights changed since it was kept fails the transfer instead of
/// reaching the client as a body that looks whole; the sealed checksum guards against accidents as decisions 0019 and
/// 0021 describe, the directory being this user's alone.
/// </remarks>
public sealed class CachedBlob : IDisposable
{
    private const int ChunkSize = 256 * 1024;

    private readonly FileDescriptor _file;

    internal CachedBlob(FileDescriptor file, LayerDescriptor descriptor)
    {
        _file = file;
        Descriptor = descriptor;
    }

    /// <summary>What the body is: its digest and size.</summary>
    public LayerDescriptor Descriptor { get; }

    /// <summary>Writes bytes <paramref name="start"/> to <paramref name="end"/> (exclusive) of the body into <paramref name="output"/>, the last one only once the whole body was read with its digest.</summary>
    /// <returns>The descriptor, with the body's sealed check when it had none: an older server's entry, whose body was held to its SHA-256 this once.</returns>
    /// <exception cref="InvalidDataException">The file no longer holds the body of its digest, or cannot be read (an <see cref="IOException"/> inside).</exception>
    public async Task<LayerDescriptor> WriteAsync(PipeWriter output, long start, long end, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(end, Descriptor.Size);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start, end);
        await using var body = new BatchedPipeStream(output);
        var window = new WindowStream(body, start, end - start, holdLastByte: true);
        // A body whose descriptor kept its check is held to it, as a download that makes the body is (decision 0021).
        var check = SealedChecksum.IsWellFormed(Descriptor.BodyCheck) ? Descriptor.BodyCheck : null;
        await using var hashed = new HashingStream(window, hashes: check is null);
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            for (long offset = 0; offset < Descriptor.Size;)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int n;
                try
                {
                    n = _file.ReadAt(buffer.AsSpan(0, (int)Math.Min(ChunkSize, Descriptor.Size - offset)), offset);
                }
                catch (IOException e)
                {
                    throw new InvalidDataException($"the kept body of {Descriptor.Digest} cannot be read at {offset} bytes: {e.Message}", e);
                }

                if (n == 0)
                {
                    throw new InvalidDataException($"the kept body of {Descriptor.Digest} ends at {offset} bytes, not at its {Descriptor.Size}");
                }

                await hashed.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                offset += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (check is not null && SealedChecksum.Seal(Descriptor.Digest, hashed.Checksum) != check)
        {
            throw new InvalidDataException($"the kept body of {Descriptor.Digest} no longer has the checksum kept with its descriptor");
        }

        if (check is null && hashed.CurrentDigest != Descriptor.Digest)
        {
            throw new InvalidDataException($"the kept body of {Descriptor.Digest} now has digest {hashed.CurrentDigest}");
        }

        await window.ReleaseAsync(cancellationToken).ConfigureAwait(false);
        await body.FlushAllAsync(cancellationToken).ConfigureAwait(false);
        return check is null ? Descriptor with { BodyCheck = SealedChecksum.Seal(Descriptor.Digest, hashed.Checksum) } : Descriptor;
    }

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
