using LayerExport.Core.Tar;

namespace LayerExport.Core.TarSplit;

/// <summary>Follows the tar headers in a record's segments, to tell a PAX global header's file entry from a member's.</summary>
/// <remarks>
/// tar-split writes a file entry for every header Go's tar reader returns, and that reader returns a PAX global header
/// (type <c>g</c>, e.g. <c>git archive</c>'s <c>pax_global_header</c>) as an entry of its own; tar readers (GNU tar,
/// bsdtar, Python's tarfile) apply it to the members after it and list no member for it. The segment before a file
/// entry holds the padding of the file before it, then the entry's extended headers, each followed by its data, then
/// its own header; a global header's records follow it in the segment, their padding in this segment or the next
/// (Go's reader stops after the records, so tar-split puts it in the next). Only the extended headers' types
/// are checked for their checksum and size; any other block ends the walk until the next file entry, which then
/// counts as a member, as does an entry whose headers could not be followed.
/// </remarks>
internal sealed class GlobalHeaderTracker
{
    private readonly byte[] _block = new byte[TarHeaderEncoder.BlockSize];
    private int _filled;
    private long _skip;
    private long _padding;
    private byte _lastType;
    private bool _walkEnded;

    /// <summary>Takes the next segment's bytes.</summary>
    public void Read(ReadOnlySpan<byte> segment)
    {
        while (!segment.IsEmpty && !_walkEnded)
        {
            if (_skip > 0)
            {
                var skipped = (int)Math.Min(_skip, segment.Length);
                segment = segment[skipped..];
                _skip -= skipped;
                continue;
            }

            var count = Math.Min(_block.Length - _filled, segment.Length);
            segment[..count].CopyTo(_block.AsSpan(_filled));
            segment = segment[count..];
            _filled += count;
            if (_filled == _block.Length)
            {
                _filled = 0;
                ReadHeader(_block);
            }
        }
    }

    /// <summary>Whether <paramref name="file"/>, the file entry after the segments read so far, is a PAX global header; then follows the file's content.</summary>
    public bool IsGlobalHeader(TarSplitEntry file)
    {
        var global = _lastType == (byte)'g' && !_walkEnded && _filled == 0 && _skip <= _padding && file.Size == 0;
        _lastType = 0;
        _walkEnded = false;
        _filled = 0;
        _skip = global ? _skip : (TarHeaderEncoder.BlockSize - (file.Size % TarHeaderEncoder.BlockSize)) % TarHeaderEncoder.BlockSize;
        return global;
    }

    private void ReadHeader(ReadOnlySpan<byte> block)
    {
        _lastType = block[TarHeaderEncoder.TypeOffset];
        if (_lastType is (byte)'x' or (byte)'g' or (byte)'L' or (byte)'K'
            && TryParseOctal(block.Slice(TarHeaderEncoder.ChecksumOffset, TarHeaderEncoder.ChecksumLength), out var checksum)
            && checksum == TarHeaderEncoder.Checksum(block)
            && TryParseOctal(block.Slice(TarHeaderEncoder.SizeOffset, TarHeaderEncoder.LongNumericLength), out var size))
        {
            _skip = TarHeaderEncoder.PaddedLength(size);
            _padding = _skip - size;
            return;
        }

        _walkEnded = true;
    }

    private static bool TryParseOctal(ReadOnlySpan<byte> field, out long value)
    {
        value = 0;
        var digits = 0;
        foreach (var b in field.TrimStart((byte)' '))
        {
            if (b is (byte)' ' or 0)
            {
                break;
            }

            if (b is < (byte)'0' or > (byte)'7' || value > long.MaxValue >> 3)
            {
                return false;
            }

            value = (value << 3) | (long)(b - '0');
            digits++;
        }

        return digits > 0;
    }
}
