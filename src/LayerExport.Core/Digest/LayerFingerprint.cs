using System.Buffers.Binary;
using System.Security.Cryptography;
using LayerExport.Core.Reader;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Digest;

/// <summary>An incremental sha256 over every entry's header fields and on-disk identity (inode, links, ctime, mtime).</summary>
/// <remarks>
/// Any write to a file changes its ctime, so a layer whose fingerprint is unchanged exports to the same bytes;
/// that is what lets a digest computed once be served again without reading the layer. The export computes it
/// too, from what it actually opened, so a result is only cached under the fingerprint it was produced from.
/// </remarks>
public sealed class LayerFingerprint : IDisposable
{
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary>The newest ctime of the entries added so far, in nanoseconds since the epoch; <see cref="long.MinValue"/> before any with one.</summary>
    public long NewestChangeNanoseconds { get; private set; } = long.MinValue;

    /// <summary>Adds one entry.</summary>
    public void Append(LayerEntry entry)
    {
        var h = entry.Header;
        AppendBytes(h.Name);
        AppendBytes(h.LinkName);
        var identity = entry.Identity;
        if (identity is not null && identity.ChangeTimeNanoseconds > NewestChangeNanoseconds)
        {
            NewestChangeNanoseconds = identity.ChangeTimeNanoseconds;
        }

        Span<long> values =
        [
            (long)h.Type, h.Mode, h.Uid, h.Gid, h.Size, h.ModificationTime, h.DeviceMajor, h.DeviceMinor,
            (long)(identity?.Device ?? 0), (long)(identity?.Inode ?? 0), identity?.LinkCount ?? 0,
            identity?.ChangeTimeNanoseconds ?? 0, identity?.ModificationTimeNanoseconds ?? 0, h.Xattrs.Count,
        ];
        Span<byte> numbers = stackalloc byte[values.Length * sizeof(long)];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(numbers[(i * sizeof(long))..], values[i]);
        }

        _sha256.AppendData(numbers);
        foreach (var xattr in h.Xattrs)
        {
            AppendBytes(xattr.Name);
            AppendBytes(xattr.Value);
        }

        AppendPaxFields(h);
    }

    /// <summary>The fingerprint of the entries added so far, as lowercase hex.</summary>
    public string Current => Convert.ToHexStringLower(_sha256.GetCurrentHash());

    /// <inheritdoc />
    public void Dispose() => _sha256.Dispose();

    // Sub-second and access times and further PAX records (Windows layers): an access time moves without the
    // ctime, so it must count itself. Entries without them add nothing, so other fingerprints stay as they were.
    private void AppendPaxFields(TarEntryHeader h)
    {
        if (h.ModificationTimeNanoseconds == 0 && h.AccessTime is null && h.ChangeTime is null && h.PaxRecords.Count == 0)
        {
            return;
        }

        Span<long> values =
        [
            h.ModificationTimeNanoseconds, h.AccessTime?.Seconds ?? 0, h.AccessTime?.Nanoseconds ?? -1,
            h.ChangeTime?.Seconds ?? 0, h.ChangeTime?.Nanoseconds ?? -1, h.PaxRecords.Count,
        ];
        Span<byte> numbers = stackalloc byte[values.Length * sizeof(long)];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(numbers[(i * sizeof(long))..], values[i]);
        }

        _sha256.AppendData(numbers);
        foreach (var record in h.PaxRecords)
        {
            AppendBytes(record.Key);
            AppendBytes(record.Value);
        }
    }

    // Length-prefixed, so that no two different entry lists serialise alike.
    private void AppendBytes(byte[] value)
    {
        Span<byte> length = stackalloc byte[sizeof(int)];
        BinaryPrimitives.WriteInt32LittleEndian(length, value.Length);
        _sha256.AppendData(length);
        _sha256.AppendData(value);
    }
}
