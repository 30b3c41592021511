using LayerExport.Core.Digest;
using LayerExport.Core.Native;

namespace LayerExport.Core.Blobs;

/// <summary>A body being copied into the <see cref="BlobCache"/> as it is made: a temporary file, kept under the body's digest once the export completed.</summary>
/// <remarks>
/// Copying never fails the export: a copy that grows past the cache's bound or that the disk refuses is given up,
/// and the body goes on to the client all the same. Disposed without <see cref="Keep"/>, the temporary file is removed.
/// </remarks>
public sealed class BlobCopy : IDisposable
{
    private readonly BlobCache _cache;
    private readonly string _state;
    private readonly FileDescriptor _directory;
    private readonly byte[] _temporary;
    private FileDescriptor? _file;
    private bool _kept;

    internal BlobCopy(BlobCache cache, string state, FileDescriptor directory, byte[] temporary, FileDescriptor file)
    {
        _cache = cache;
        _state = state;
        _directory = directory;
        _temporary = temporary;
        _file = file;
    }

    /// <summary>Bytes copied so far.</summary>
    public long Length { get; private set; }

    /// <summary>Whether the copy was given up: too large, or the disk refused it.</summary>
    public bool GivenUp => _file is null && !_kept;

    /// <summary>Appends the next bytes of the body.</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        if (_file is null)
        {
            return;
        }

        if (Length + bytes.Length > _cache.MaxBytes)
        {
            GiveUp(reason: null);
            return;
        }

        try
        {
            _file.WriteAllAt(bytes, Length);
            Length += bytes.Length;
        }
        catch (NativeIOException e)
        {
            GiveUp(e.Message);
        }
    }

    /// <summary>Keeps the copy as the body of <paramref name="digest"/>, when it holds all <paramref name="size"/> bytes of it.</summary>
    /// <returns>Whether it was kept.</returns>
    public bool Keep(LayerDigest digest, long size)
    {
        if (_file is null || Length != size || BlobCache.EntryName(digest) is not { } name)
        {
            return false;
        }

        try
        {
            _file.Dispose();
            _file = null;
            _directory.RenameAt(_temporary, name);
            _kept = true;
        }
        catch (NativeIOException e)
        {
            _cache.WriteFailed(e.Message);
            return false;
        }

        _cache.Kept(digest);
        return true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_directory.IsClosed)
        {
            return;
        }

        _file?.Dispose();
        _file = null;
        if (!_kept)
        {
            _directory.RemoveQuietlyAt(_temporary);
        }

        _directory.Dispose();
        _cache.CopyEnded(_state);
    }

    private void GiveUp(string? reason)
    {
        _file!.Dispose();
        _file = null;
        _directory.RemoveQuietlyAt(_temporary);
        if (reason is not null)
        {
            _cache.WriteFailed(reason);
        }
    }
}
