using System.Globalization;
using LayerExport.Core.Tar;

namespace LayerExport.Core.TarSplit;

/// <summary>What a file entry of a tar-split record stands for, as the headers before it in the record's segments say.</summary>
internal enum RecordedMember
{
    /// <summary>A member of the tar, rebuilt as it was.</summary>
    Member,

    /// <summary>A PAX global header: tar-split gives it a file entry, yet tar readers list no member for it.</summary>
    GlobalHeader,

    /// <summary>A GNU sparse file whose content tar-split recorded with its holes filled in: the record cannot rebuild its bytes.</summary>
    ExpandedSparseFile,
}

/// <summary>Follows the tar headers in a record's segments, to tell what each file entry stands for.</summary>
/// <remarks>
/// tar-split writes a file entry for every header Go's tar reader returns, and that reader returns a PAX global header
/// (type <c>g</c>, e.g. <c>git archive</c>'s <c>pax_global_header</c>) as an entry of its own; tar readers (GNU tar,
/// bsdtar, Python's tarfile) apply it to the members after it and list no member for it. Go's reader also reads GNU
/// sparse files (type <c>S</c>, or PAX records <c>GNU.sparse.*</c>) with their holes filled in, and tar-split records
/// that content, longer than the bytes the tar held: such a tar cannot be rebuilt. The segment before a file entry
/// holds the padding of the file before it, then the entry's extended headers, each followed by its data, then its
/// own header; a global header's records follow it in the segment, their padding in this segment or the next (Go's
/// reader stops after the records, so tar-split puts it in the next). Only the extended headers' types are checked
/// for their checksum and size; any other block ends the walk until the next file entry, which then counts as a
/// member, as does an entry whose headers could not be followed.
/// </remarks>
internal sealed class RecordedHeaders
{
    // PAX records of a member are a few hundred bytes; larger ones (big xattrs) are not read for sparse keys.
    private const int MaxScannedRecords = 64 * 1024;

    private readonly byte[] _block = new byte[TarHeaderEncoder.BlockSize];
    private byte[] _records = new byte[TarHeaderEncoder.BlockSize];
    private int _filled;
    private long _skip;
    private long _padding;
    private byte _lastType;
    private bool _walkEnded;
    private long? _storedSize;
    private bool _sparseRecords;
    private long? _recordedSize;
    private bool _collecting;
    private int _recordsFilled;

    /// <summary>Takes the next segment's bytes.</summary>
    public void Read(ReadOnlySpan<byte> segment)
    {
        while (!segment.IsEmpty && !_walkEnded)
        {
            if (_skip > 0)
            {
                var skipped = (int)Math.Min(_skip, segment.Length);
                Collect(segment[..skipped]);
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

    /// <summary>What <paramref name="file"/>, the file entry after the segments read so far, stands for; then follows the file's content.</summary>
    public RecordedMember Classify(TarSplitEntry file)
    {
        var global = _lastType == (byte)'g' && !_walkEnded && _filled == 0 && _skip <= _padding && file.Size == 0;

        // The tar held the bytes its header (or a PAX size record) counts; a content of another length is the holes filled in.
        var sparse = _walkEnded && (_lastType == (byte)'S' || _sparseRecords) && (_recordedSize ?? _storedSize) is { } stored && stored != file.Size;
        _lastType = 0;
        _walkEnded = false;
        _filled = 0;
        _storedSize = _recordedSize = null;
        _sparseRecords = false;
        _collecting = false;
        _skip = global ? _skip : (TarHeaderEncoder.BlockSize - (file.Size % TarHeaderEncoder.BlockSize)) % TarHeaderEncoder.BlockSize;
        return global ? RecordedMember.GlobalHeader : sparse ? RecordedMember.ExpandedSparseFile : RecordedMember.Member;
    }

    private void ReadHeader(ReadOnlySpan<byte> block)
    {
        _lastType = block[TarHeaderEncoder.TypeOffset];
        var extended = _lastType is (byte)'x' or (byte)'g' or (byte)'L' or (byte)'K';

        // A member's own header is read only where it may be a sparse file's: most are not.
        if ((extended || _lastType == (byte)'S' || _sparseRecords) && TryReadSize(block, out var size))
        {
            if (!extended)
            {
                _storedSize = size;
                _walkEnded = true;
                return;
            }

            _skip = TarHeaderEncoder.PaddedLength(size);
            _padding = _skip - size;
            _collecting = _lastType == (byte)'x' && size <= MaxScannedRecords;
            if (_collecting)
            {
                _recordsFilled = 0;
                if (_records.Length < size)
                {
                    _records = new byte[size];
                }
            }

            return;
        }

        _walkEnded = true;
    }

    // The size field of a header whose checksum holds.
    private static bool TryReadSize(ReadOnlySpan<byte> block, out long size)
    {
        size = 0;
        return TryParseOctal(block.Slice(TarHeaderEncoder.ChecksumOffset, TarHeaderEncoder.ChecksumLength), out var checksum)
            && checksum == TarHeaderEncoder.Checksum(block)
            && TryParseOctal(block.Slice(TarHeaderEncoder.SizeOffset, TarHeaderEncoder.LongNumericLength), out size);
    }

    // Gathers an extended header's records as they are skipped; once all are in, reads them for the keys that matter.
    private void Collect(ReadOnlySpan<byte> skipped)
    {
        if (!_collecting)
        {
            return;
        }

        // The records come first in what is skipped, their padding last.
        var dataLeft = _skip - _padding;
        var count = (int)Math.Clamp(dataLeft, 0, skipped.Length);
        skipped[..count].CopyTo(_records.AsSpan(_recordsFilled));
        _recordsFilled += count;
        if (count == dataLeft)
        {
            _collecting = false;
            var records = _records.AsSpan(0, _recordsFilled);
            if (records.IndexOf("GNU.sparse."u8) >= 0)
            {
                ReadRecords(records);
            }
        }
    }

    // PAX records: "<length> <key>=<value>\n", the length counting the whole record. A malformed one ends the reading.
    private void ReadRecords(ReadOnlySpan<byte> records)
    {
        while (!records.IsEmpty)
        {
            var space = records.IndexOf((byte)' ');
            if (space <= 0 || !int.TryParse(records[..space], NumberStyles.None, CultureInfo.InvariantCulture, out var length)
                || length <= space + 1 || length > records.Length)
            {
                return;
            }

            var record = records[(space + 1)..(length - 1)];
            var equals = record.IndexOf((byte)'=');
            if (equals < 0)
            {
                return;
            }

            var key = record[..equals];
            if (key.StartsWith("GNU.sparse."u8))
            {
                _sparseRecords = true;
            }
            else if (key.SequenceEqual("size"u8) && long.TryParse(record[(equals + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            {
                _recordedSize = size;
            }

            records = records[length..];
        }
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
