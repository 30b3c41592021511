using System.Text;

namespace LayerExport.Core.TarSplit;

/// <summary>One entry of a tar-split record: raw tar bytes, or a file whose content comes from the unpacked layer.</summary>
public sealed class TarSplitEntry
{
    private TarSplitEntry(TarSplitEntryType type, ReadOnlyMemory<byte> name, long size, ReadOnlyMemory<byte> bytes, ulong checksum, long position, long lineNumber)
    {
        Type = type;
        Name = name;
        Size = size;
        Bytes = bytes;
        Checksum = checksum;
        Position = position;
        LineNumber = lineNumber;
    }

    /// <summary>Segment or file.</summary>
    public TarSplitEntryType Type { get; }

    /// <summary>A file's raw tar path (from <c>name_raw</c> when set, else <c>name</c>); empty for a segment.</summary>
    public ReadOnlyMemory<byte> Name { get; }

    /// <summary>How many bytes this entry adds to the tar: a segment's length, or a file's size.</summary>
    public long Size { get; }

    /// <summary>A segment's raw bytes; empty for a file.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>A file's expected CRC-64/ISO (see <see cref="Crc64Iso"/>); 0 when its size is 0.</summary>
    public ulong Checksum { get; }

    /// <summary>The <c>position</c> the record gives the entry.</summary>
    public long Position { get; }

    /// <summary>The line of the record the entry came from, counting from 1.</summary>
    public long LineNumber { get; }

    /// <summary>The file's tar path for messages (invalid UTF-8 replaced); empty for a segment.</summary>
    public string DisplayName => Encoding.UTF8.GetString(Name.Span);

    /// <summary>A segment entry.</summary>
    internal static TarSplitEntry ForSegment(ReadOnlyMemory<byte> bytes, long position, long lineNumber) =>
        new(TarSplitEntryType.Segment, ReadOnlyMemory<byte>.Empty, bytes.Length, bytes, 0, position, lineNumber);

    /// <summary>A file entry.</summary>
    internal static TarSplitEntry ForFile(ReadOnlyMemory<byte> name, long size, ulong checksum, long position, long lineNumber) =>
        new(TarSplitEntryType.File, name, size, ReadOnlyMemory<byte>.Empty, checksum, position, lineNumber);
}
