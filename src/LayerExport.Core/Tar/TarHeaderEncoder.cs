using System.Buffers;
using System.Runtime.Intrinsics;
using System.Text;

namespace LayerExport.Core.Tar;

/// <summary>Encodes tar headers byte for byte as Go's <c>archive/tar</c> does for the headers containerd and moby write.</summary>
/// <remarks>
/// A layer's diffID is the sha256 of its tar, so registries and runtimes only agree on a layer when its bytes
/// are reproducible. The Go writer is what every peer emits: a plain ustar block unless a field cannot fit,
/// otherwise one PAX <c>x</c> block named <c>&lt;dir&gt;/PaxHeaders.0/&lt;base&gt;</c> with keys in byte order.
/// .NET's <c>TarWriter</c> embeds the process ID in that name and cannot carry binary xattr values, hence this
/// encoder (see docs/decisions/0001-tar-encoder.md).
/// </remarks>
public static class TarHeaderEncoder
{
    /// <summary>Size of a tar block.</summary>
    public const int BlockSize = 512;

    private const int NameOffset = 0, NameLength = 100;
    private const int ModeOffset = 100, UidOffset = 108, GidOffset = 116, NumericLength = 8;
    private const int MtimeOffset = 136;

    /// <summary>Where a header's size field starts; it is <see cref="LongNumericLength"/> bytes long.</summary>
    internal const int SizeOffset = 124, LongNumericLength = 12;

    /// <summary>Where a header's checksum field starts, and its length.</summary>
    internal const int ChecksumOffset = 148, ChecksumLength = 8;

    /// <summary>Where a header's type flag is.</summary>
    internal const int TypeOffset = 156;
    private const int LinkNameOffset = 157;
    private const int MagicOffset = 257, VersionOffset = 263;
    private const int DevMajorOffset = 329, DevMinorOffset = 337;
    private const int PrefixOffset = 345, PrefixLength = 155;

    // Seconds from the Unix epoch back to 0001-01-01T00:00:00Z.
    private const long GoZeroTime = -62_135_596_800;

    /// <summary>The largest PAX extended header's data this encoder writes, the most Go's writer accepts; an entry needing more fails.</summary>
    internal const int MaxPaxDataLength = 1 << 20;

    /// <summary>The most bytes <see cref="Write"/> writes for one header: a PAX block, its largest data, and the main block.</summary>
    internal const int MaxEncodedLength = (2 * BlockSize) + MaxPaxDataLength;

    private static readonly byte[] PaxDirectory = "PaxHeaders.0"u8.ToArray();
    private static readonly byte[] XattrPrefix = "SCHILY.xattr."u8.ToArray();

    /// <summary>Bytes the header of <paramref name="header"/> takes, PAX block included (data not included).</summary>
    public static int EncodedLength(TarEntryHeader header)
    {
        var pax = PaxRecordsFor(header, out _);
        return pax is null ? BlockSize : (2 * BlockSize) + (int)PaddedLength(pax.Length);
    }

    /// <summary>Writes the header block(s) of <paramref name="header"/>; returns the number of bytes written.</summary>
    public static int Write(TarEntryHeader header, IBufferWriter<byte> output)
    {
        var pax = PaxRecordsFor(header, out var ustarPrefixLength);
        if (pax is null)
        {
            var block = output.GetSpan(BlockSize)[..BlockSize];
            WriteUstar(header, ustarPrefixLength, block);
            output.Advance(BlockSize);
            return BlockSize;
        }

        var total = WritePaxBlock(header.Name, pax, output);
        var main = output.GetSpan(BlockSize)[..BlockSize];
        WriteMainOfPax(header, main);
        output.Advance(BlockSize);
        return total + BlockSize;
    }

    /// <summary>Writes the zero padding that follows <paramref name="dataLength"/> bytes of entry data.</summary>
    public static int WritePadding(long dataLength, IBufferWriter<byte> output)
    {
        var padding = (int)(PaddedLength(dataLength) - dataLength);
        if (padding > 0)
        {
            output.GetSpan(padding)[..padding].Clear();
            output.Advance(padding);
        }

        return padding;
    }

    /// <summary>The end of the archive: two zero blocks, no padding to a record size.</summary>
    public static ReadOnlyMemory<byte> EndOfArchive { get; } = new byte[2 * BlockSize];

    /// <summary>Rounds up to whole blocks.</summary>
    /// <exception cref="TarEncodingException">The rounded length is more than <see cref="long.MaxValue"/>.</exception>
    public static long PaddedLength(long length) =>
        length <= long.MaxValue - (BlockSize - 1)
            ? (length + BlockSize - 1) / BlockSize * BlockSize
            : throw TarLength.TooLong($"{length} bytes of data padded to whole blocks");

    /// <summary>Bytes <paramref name="header"/>'s entry takes in the tar: its header block(s), its data and the padding after it.</summary>
    /// <exception cref="TarEncodingException">The header cannot be encoded, or the entry alone is longer than a tar can be.</exception>
    public static long EntryLength(TarEntryHeader header) => TarLength.Add(EncodedLength(header), PaddedLength(header.Size));

    /// <summary>
    /// Returns the PAX data the header needs, or null when plain ustar holds it;
    /// for ustar, also how much of the name goes into the prefix field.
    /// </summary>
    private static byte[]? PaxRecordsFor(TarEntryHeader h, out int ustarPrefixLength)
    {
        ustarPrefixLength = 0;
        if (h.Name.AsSpan().Contains((byte)0) || h.LinkName.AsSpan().Contains((byte)0))
        {
            // Neither a ustar field nor a PAX path/linkpath record can hold a NUL; Go refuses such a header.
            throw new TarEncodingException($"{Display(h.Name)}: a name or link name with a NUL byte cannot be encoded");
        }

        var records = new List<(byte[] Key, byte[] Value)>();
        var ustarPossible = true;

        if (h.Name.Length > NameLength || !IsAscii(h.Name))
        {
            records.Add(("path"u8.ToArray(), h.Name));
            ustarPrefixLength = SplitUstarPath(h.Name);
            ustarPossible = ustarPrefixLength > 0;
        }

        if (h.LinkName.Length > NameLength || !IsAscii(h.LinkName))
        {
            records.Add(("linkpath"u8.ToArray(), h.LinkName));
            ustarPossible = false;
        }

        ustarPossible &= NumericRecord(records, "uid"u8, h.Uid, NumericLength);
        ustarPossible &= NumericRecord(records, "gid"u8, h.Gid, NumericLength);
        ustarPossible &= NumericRecord(records, "size"u8, h.Size, LongNumericLength);
        ustarPossible &= ModificationTimeRecord(records, h);

        if (!FitsOctal(h.Mode, NumericLength) || !FitsOctal(h.DeviceMajor, NumericLength) || !FitsOctal(h.DeviceMinor, NumericLength))
        {
            throw new TarEncodingException($"{Display(h.Name)}: mode or device number does not fit a tar header");
        }

        foreach (var xattr in h.Xattrs)
        {
            // "SCHILY.xattr." alone is a valid key, so an empty name is encoded, as Go does; '=' or NUL cannot be.
            if (xattr.Name.AsSpan().IndexOfAny((byte)'=', (byte)0) >= 0)
            {
                throw new TarEncodingException($"{Display(h.Name)}: xattr name '{Display(xattr.Name)}' cannot be a PAX key");
            }

            records.Add(([.. XattrPrefix, .. xattr.Name], xattr.Value));
            ustarPossible = false;
        }

        ustarPossible &= ExtendedRecords(records, h);

        if (ustarPossible)
        {
            return null;
        }

        ustarPrefixLength = 0;
        records.Sort(static (a, b) => a.Key.AsSpan().SequenceCompareTo(b.Key));
        var data = new ArrayBufferWriter<byte>();
        foreach (var (key, value) in records)
        {
            AppendRecord(data, key, value);
        }

        return data.WrittenCount <= MaxPaxDataLength
            ? data.WrittenSpan.ToArray()
            : throw new TarEncodingException($"{Display(h.Name)}: PAX header larger than {MaxPaxDataLength} bytes");
    }

    private static bool NumericRecord(List<(byte[] Key, byte[] Value)> records, ReadOnlySpan<byte> key, long value, int fieldLength)
    {
        if (FitsOctal(value, fieldLength))
        {
            return true;
        }

        records.Add((key.ToArray(), Encoding.ASCII.GetBytes(value.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        return false;
    }

    // Go keeps a sub-second mtime only in a PAX record; whole seconds need one only when they do not fit.
    private static bool ModificationTimeRecord(List<(byte[] Key, byte[] Value)> records, TarEntryHeader h)
    {
        // 0001-01-01T00:00:00Z is Go's zero time.Time, which its writer leaves out: the field stays 0 and no record is added.
        if (h.ModificationTimeNanoseconds == 0 && h.ModificationTime == GoZeroTime)
        {
            return true;
        }

        if (h.ModificationTimeNanoseconds == 0)
        {
            return NumericRecord(records, "mtime"u8, h.ModificationTime, LongNumericLength);
        }

        records.Add(("mtime"u8.ToArray(), new PaxTime(h.ModificationTime, h.ModificationTimeNanoseconds).Format()));
        return false;
    }

    // atime, ctime and the caller's own records, which ustar cannot hold; Go writes a set atime or ctime always.
    private static bool ExtendedRecords(List<(byte[] Key, byte[] Value)> records, TarEntryHeader h)
    {
        var count = records.Count;
        if (h.AccessTime is { } accessTime)
        {
            records.Add(("atime"u8.ToArray(), accessTime.Format()));
        }

        if (h.ChangeTime is { } changeTime)
        {
            records.Add(("ctime"u8.ToArray(), changeTime.Format()));
        }

        for (var i = 0; i < h.PaxRecords.Count; i++)
        {
            var key = h.PaxRecords[i].Key;
            if (!IsFreeKey(key) || h.PaxRecords.Take(i).Any(earlier => earlier.Key.AsSpan().SequenceEqual(key)))
            {
                throw new TarEncodingException($"{Display(h.Name)}: '{Display(key)}' cannot be an extra PAX record key");
            }

            records.Add((key, h.PaxRecords[i].Value));
        }

        return records.Count == count;
    }

    // Not empty, no '=' or NUL, and none of the keys the header's own fields produce (Go ignores those).
    private static bool IsFreeKey(ReadOnlySpan<byte> key) =>
        !key.IsEmpty
        && key.IndexOfAny((byte)'=', (byte)0) < 0
        && !key.StartsWith(XattrPrefix)
        && !key.StartsWith("GNU.sparse."u8)
        && !(key.SequenceEqual("path"u8) || key.SequenceEqual("linkpath"u8) || key.SequenceEqual("size"u8)
            || key.SequenceEqual("uid"u8) || key.SequenceEqual("gid"u8) || key.SequenceEqual("uname"u8)
            || key.SequenceEqual("gname"u8) || key.SequenceEqual("mtime"u8) || key.SequenceEqual("atime"u8)
            || key.SequenceEqual("ctime"u8));

    // A record is "<length> <key>=<value>\n", where the length counts its own digits.
    private static void AppendRecord(ArrayBufferWriter<byte> data, byte[] key, byte[] value)
    {
        var baseLength = key.Length + value.Length + 3;
        var size = baseLength + DecimalDigits(baseLength);
        if (DecimalDigits(size) + baseLength != size)
        {
            size = DecimalDigits(size) + baseLength;
        }

        var digits = Encoding.ASCII.GetBytes(size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        data.Write(digits);
        data.Write(" "u8);
        data.Write(key);
        data.Write("="u8);
        data.Write(value);
        data.Write("\n"u8);
    }

    private static int DecimalDigits(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture).Length;

    private static int WritePaxBlock(byte[] entryName, byte[] data, IBufferWriter<byte> output)
    {
        var block = output.GetSpan(BlockSize)[..BlockSize];
        block.Clear();
        var name = ToAscii(PaxHeaderName(entryName));
        if (name.Length > NameLength)
        {
            name = name[..NameLength];
        }

        FormatString(block.Slice(NameOffset, NameLength), TrimTrailingSlashes(name));
        FormatOctal(block.Slice(ModeOffset, NumericLength), 0);
        FormatOctal(block.Slice(UidOffset, NumericLength), 0);
        FormatOctal(block.Slice(GidOffset, NumericLength), 0);
        FormatOctal(block.Slice(SizeOffset, LongNumericLength), data.Length);
        FormatOctal(block.Slice(MtimeOffset, LongNumericLength), 0);
        block[TypeOffset] = (byte)TarEntryType.PaxExtendedHeader;
        Finish(block);
        output.Advance(BlockSize);

        var remaining = data.AsSpan();
        while (!remaining.IsEmpty)
        {
            var span = output.GetSpan();
            var n = Math.Min(span.Length, remaining.Length);
            remaining[..n].CopyTo(span);
            output.Advance(n);
            remaining = remaining[n..];
        }

        return BlockSize + data.Length + WritePadding(data.Length, output);
    }

    // Go names it path.Join(dir, "PaxHeaders.0", base), which drops the trailing slash of a directory.
    private static byte[] PaxHeaderName(byte[] name)
    {
        var slash = name.AsSpan().LastIndexOf((byte)'/');
        var dir = name.AsSpan(0, slash + 1);
        var file = name.AsSpan(slash + 1);
        byte[] joined = file.IsEmpty ? [.. dir, .. PaxDirectory] : [.. dir, .. PaxDirectory, (byte)'/', .. file];
        return joined;
    }

    private static void WriteUstar(TarEntryHeader h, int prefixLength, Span<byte> block)
    {
        block.Clear();
        var name = h.Name.AsSpan();
        if (prefixLength > 0)
        {
            FormatString(block.Slice(PrefixOffset, PrefixLength), name[..prefixLength]);
            name = name[(prefixLength + 1)..];
        }

        WriteTemplate(h, name, h.LinkName, block);
        Finish(block);
    }

    private static void WriteMainOfPax(TarEntryHeader h, Span<byte> block)
    {
        block.Clear();
        WriteTemplate(h, ToAscii(h.Name), ToAscii(h.LinkName), block);
        Finish(block);
    }

    // Fields that do not fit are written as zero; the PAX record carries the real value.
    private static void WriteTemplate(TarEntryHeader h, ReadOnlySpan<byte> name, ReadOnlySpan<byte> linkName, Span<byte> block)
    {
        block[TypeOffset] = (byte)h.Type;
        FormatString(block.Slice(NameOffset, NameLength), name);
        FormatString(block.Slice(LinkNameOffset, NameLength), linkName);
        FormatOctal(block.Slice(ModeOffset, NumericLength), h.Mode);
        FormatOctal(block.Slice(UidOffset, NumericLength), h.Uid);
        FormatOctal(block.Slice(GidOffset, NumericLength), h.Gid);
        FormatOctal(block.Slice(SizeOffset, LongNumericLength), h.Size);
        FormatOctal(block.Slice(MtimeOffset, LongNumericLength), h.ModificationTime);
        FormatOctal(block.Slice(DevMajorOffset, NumericLength), h.DeviceMajor);
        FormatOctal(block.Slice(DevMinorOffset, NumericLength), h.DeviceMinor);
    }

    /// <summary>A header block's checksum: the sum of its bytes, with its own field read as spaces.</summary>
    internal static int Checksum(ReadOnlySpan<byte> block) =>
        Sum(block[..ChecksumOffset]) + (ChecksumLength * ' ') + Sum(block[(ChecksumOffset + ChecksumLength)..BlockSize]);

    // Every header written or followed is summed: 16 bytes a step where the CPU allows, widened to 16-bit lanes, which
    // cannot overflow (a lane gains at most 510 a step, and a block takes at most 32 steps).
    private static int Sum(ReadOnlySpan<byte> bytes)
    {
        var sum = 0;
        var i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            var lanes = Vector128<ushort>.Zero;
            for (; i <= bytes.Length - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                var (lower, upper) = Vector128.Widen(Vector128.Create(bytes.Slice(i, Vector128<byte>.Count)));
                lanes += lower + upper;
            }

            sum = (int)Vector128.Sum(Vector128.WidenLower(lanes) + Vector128.WidenUpper(lanes));
        }

        for (; i < bytes.Length; i++)
        {
            sum += bytes[i];
        }

        return sum;
    }

    // Last: the checksum covers every other byte of the block, the magic included.
    private static void Finish(Span<byte> block)
    {
        "ustar\0"u8.CopyTo(block[MagicOffset..]);
        "00"u8.CopyTo(block[VersionOffset..]);
        var field = block.Slice(ChecksumOffset, ChecksumLength);
        FormatOctal(field[..7], Checksum(block));
        field[7] = (byte)' ';
    }

    private static void FormatString(Span<byte> field, ReadOnlySpan<byte> value)
    {
        if (value.Length <= field.Length)
        {
            value.CopyTo(field);
            if (value.Length < field.Length)
            {
                field[value.Length] = 0;
            }

            return;
        }

        value[..field.Length].CopyTo(field);
        if (field[^1] == (byte)'/')
        {
            // A truncated name must not look like a directory to readers that trust this field.
            field[TrimTrailingSlashes(value[..field.Length]).Length] = 0;
        }
    }

    private static void FormatOctal(Span<byte> field, long value)
    {
        if (!FitsOctal(value, field.Length))
        {
            value = 0;
        }

        var digits = field.Length - 1;
        for (var i = digits - 1; i >= 0; i--)
        {
            field[i] = (byte)('0' + (value & 7));
            value >>= 3;
        }

        field[digits] = 0;
    }

    private static bool FitsOctal(long value, int fieldLength) =>
        value >= 0 && (fieldLength >= 22 || value < 1L << ((fieldLength - 1) * 3));

    // Go's USTAR prefix/name split: the prefix takes up to 155 bytes ending before a slash.
    private static int SplitUstarPath(ReadOnlySpan<byte> name)
    {
        var length = name.Length;
        if (length <= NameLength || !IsAscii(name))
        {
            return 0;
        }

        if (length > PrefixLength + 1)
        {
            length = PrefixLength + 1;
        }
        else if (name[length - 1] == (byte)'/')
        {
            length--;
        }

        var i = name[..length].LastIndexOf((byte)'/');
        var suffixLength = name.Length - i - 1;
        return i <= 0 || suffixLength > NameLength || suffixLength == 0 || i > PrefixLength ? 0 : i;
    }

    private static bool IsAscii(ReadOnlySpan<byte> value) => !value.ContainsAnyInRange((byte)0x80, (byte)0xFF);

    // Go keeps only the ASCII characters of a name in the fixed fields when PAX carries the real one.
    private static byte[] ToAscii(ReadOnlySpan<byte> value)
    {
        var result = new byte[value.Length];
        var n = 0;
        foreach (var b in value)
        {
            if (b is > 0 and < 0x80)
            {
                result[n++] = b;
            }
        }

        return result[..n];
    }

    private static ReadOnlySpan<byte> TrimTrailingSlashes(ReadOnlySpan<byte> value) => value.TrimEnd((byte)'/');

    private static string Display(byte[] value) => Encoding.UTF8.GetString(value);
}
