using System.Buffers.Binary;
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
    private readonly byte[] _block = new byte[TarHeaderEncoder.BlockSize];
    private readonly byte[] _key = new byte[SparsePrefix.Length];
    private int _filled;
    private long _skip;
    private long _padding;
    private byte _lastType;
    private bool _walkEnded;
    private long? _storedSize;
    private bool _sparseRecords;
    private long? _recordedSize;

    // The PAX record being read, as the records of an x header are skipped.
    private RecordPart _part;
    private long _recordsAhead;
    private long _length;
    private int _lengthDigits;
    private long _recordRest;
    private int _keyLength;
    private bool _sizeRecord;
    private long? _size;

    private enum RecordPart
    {
        None,
        Length,
        Key,
        Value,
    }

    private static ReadOnlySpan<byte> SparsePrefix => "GNU.sparse."u8;

    /// <summary>Takes the next segment's bytes.</summary>
    public void Read(ReadOnlySpan<byte> segment)
    {
        while (!segment.IsEmpty && !_walkEnded)
        {
            if (_skip > 0)
            {
                var skipped = (int)Math.Min(_skip, segment.Length);
                if (_part != RecordPart.None)
                {
                    // The records come first in what is skipped, their padding last.
                    var records = segment[..(int)Math.Clamp(_skip - _padding, 0, skipped)];

                    // Most hold neither key that matters (mtime, path, xattrs): when the rest is at hand, a search
                    // passes it over.
                    if (records.Length == _recordsAhead && records.IndexOf(SparsePrefix) < 0 && records.IndexOf("size="u8) < 0)
                    {
                        _part = RecordPart.None;
                    }

                    ReadRecords(records);
                }

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
        _part = RecordPart.None;
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
            _part = _lastType == (byte)'x' ? RecordPart.Length : RecordPart.None;
            _recordsAhead = size;
            _length = _lengthDigits = 0;
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
            && TryParseSize(block.Slice(TarHeaderEncoder.SizeOffset, TarHeaderEncoder.LongNumericLength), out size);
    }

    // Octal, or GNU's base-256 (0x80, then the value big-endian), which Go's reader takes for any size. A negative
    // value, or one whose padding to whole blocks passes 2^63, no tar holds.
    private static bool TryParseSize(ReadOnlySpan<byte> field, out long size)
    {
        if (field[0] < 0x80)
        {
            return TryParseOctal(field, out size);
        }

        size = BinaryPrimitives.ReadInt64BigEndian(field[4..]);
        return field[0] == 0x80 && !field[1..4].ContainsAnyExcept((byte)0) && size is >= 0 and <= long.MaxValue - (TarHeaderEncoder.BlockSize - 1);
    }

    // PAX records, "<length> <key>=<value>\n", the length counting the whole record, read as they go by: a header's
    // records can be of any size, and only a key's start and a size record's digits matter. A malformed record ends
    // the reading.
    private void ReadRecords(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty && _part != RecordPart.None)
        {
            if (_part == RecordPart.Length)
            {
                var b = data[0];
                data = data[1..];
                if (b == (byte)' ' && _length > _lengthDigits + 1)
                {
                    _recordRest = _length - _lengthDigits - 1;
                    _keyLength = 0;
                    _part = RecordPart.Key;
                }
                else if (b is >= (byte)'0' and <= (byte)'9')
                {
                    _length = (_length * 10) + (b - '0');
                    _lengthDigits++;
                    _part = _length <= _recordsAhead ? RecordPart.Length : RecordPart.None;
                }
                else
                {
                    _part = RecordPart.None;
                }
            }
            else if (_part == RecordPart.Key)
            {
                // The key ends at the first '=' before the record's last byte.
                var key = data[..(int)Math.Min(data.Length, _recordRest - 1)];
                var equals = key.IndexOf((byte)'=');
                var read = equals < 0 ? key : key[..equals];
                var kept = Math.Min(read.Length, _key.Length - _keyLength);
                read[..kept].CopyTo(_key.AsSpan(_keyLength));
                _keyLength += kept;
                var taken = equals < 0 ? key.Length : equals + 1;
                data = data[taken..];
                _recordRest -= taken;
                if (equals >= 0)
                {
                    var start = _key.AsSpan(0, _keyLength);
                    _sparseRecords |= start.SequenceEqual(SparsePrefix);
                    _sizeRecord = start.SequenceEqual("size"u8);
                    _size = null;
                    _part = RecordPart.Value;
                }
                else if (_recordRest == 1)
                {
                    _part = RecordPart.None;
                }
            }
            else
            {
                var value = data[..(int)Math.Min(data.Length, _recordRest)];
                if (_sizeRecord)
                {
                    ReadSizeDigits(value[..(int)Math.Min(value.Length, _recordRest - 1)]);
                }

                data = data[value.Length..];
                _recordRest -= value.Length;
                if (_recordRest == 0)
                {
                    if (_sizeRecord && _size is { } size)
                    {
                        _recordedSize = size;
                    }

                    _recordsAhead -= _length;
                    _length = _lengthDigits = 0;
                    _part = RecordPart.Length;
                }
            }
        }
    }

    // Anything but digits, or more than a long holds, makes the value no size: Go's reader refuses a tar with such a
    // record (but for a '+' sign, which no writer puts there).
    private void ReadSizeDigits(ReadOnlySpan<byte> digits)
    {
        foreach (var b in digits)
        {
            var digit = b - '0';
            if (digit is < 0 or > 9 || (_size ?? 0) > (long.MaxValue - digit) / 10)
            {
                _sizeRecord = false;
                return;
            }

            _size = ((_size ?? 0) * 10) + digit;
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
