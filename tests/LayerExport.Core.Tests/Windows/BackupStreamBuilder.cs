using System.Buffers.Binary;
using System.Text;

namespace LayerExport.Core.Tests.Windows;

/// <summary>
/// Writes a Win32 backup stream from its documented format: per stream a WIN32_STREAM_ID (u32 id, u32 attributes,
/// u64 size, u32 name size, UTF-16LE name), for a sparse block an i64 offset counted in the size, then the bytes.
/// </summary>
internal sealed class BackupStreamBuilder
{
    public const uint Data = 1, ExtendedAttributes = 2, Security = 3, AlternateData = 4, Link = 5, PropertyData = 6,
        ObjectId = 7, ReparseData = 8, SparseBlock = 9, TransactionalData = 10;

    public const uint SparseAttribute = 8;

    private readonly List<byte> _bytes = [];

    public BackupStreamBuilder Stream(uint id, byte[] payload, uint attributes = 0, string name = "") =>
        Header(id, attributes, (ulong)payload.Length, name).Append(payload);

    public BackupStreamBuilder SecurityDescriptor(byte[] descriptor) => Stream(Security, descriptor);

    public BackupStreamBuilder DataStream(byte[] data, uint attributes = 0) => Stream(Data, data, attributes);

    public BackupStreamBuilder SparseDataStream() => Stream(Data, [], SparseAttribute);

    /// <summary>A named stream, stored as <c>:name:$DATA</c>.</summary>
    public BackupStreamBuilder AlternateStream(string name, byte[] data, uint attributes = 0) =>
        Stream(AlternateData, data, attributes, $":{name}:$DATA");

    public BackupStreamBuilder Block(long offset, byte[] data)
    {
        Header(SparseBlock, 0, (ulong)data.Length + 8, "");
        var offsetBytes = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(offsetBytes, offset);
        return Append(offsetBytes).Append(data);
    }

    /// <summary>FILE_FULL_EA_INFORMATION entries, each padded to 4 bytes, the last with next offset 0.</summary>
    public BackupStreamBuilder Eas(params (string Name, byte[] Value)[] attributes) => Stream(ExtendedAttributes, EaBuffer(attributes));

    public static byte[] EaBuffer(params (string Name, byte[] Value)[] attributes)
    {
        var buffer = new List<byte>();
        for (var i = 0; i < attributes.Length; i++)
        {
            var (name, value) = attributes[i];
            var nameBytes = Encoding.ASCII.GetBytes(name);
            var length = 8 + nameBytes.Length + 1 + value.Length;
            var padded = (length + 3) & ~3;
            var entry = new byte[i == attributes.Length - 1 ? length : padded];
            BinaryPrimitives.WriteUInt32LittleEndian(entry, i == attributes.Length - 1 ? 0u : (uint)padded);
            entry[4] = 0x80;
            entry[5] = (byte)nameBytes.Length;
            BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(6), (ushort)value.Length);
            nameBytes.CopyTo(entry, 8);
            value.CopyTo(entry, 8 + nameBytes.Length + 1);
            buffer.AddRange(entry);
        }

        return [.. buffer];
    }

    /// <summary>A symbolic link's REPARSE_DATA_BUFFER (tag a000000c, flags 1 for a relative target).</summary>
    public BackupStreamBuilder Symlink(string printName, bool relative) =>
        Stream(ReparseData, ReparseBuffer(0xA000000C, relative ? printName : @"\??\" + printName, printName, relative ? 1u : 0u));

    /// <summary>A junction's REPARSE_DATA_BUFFER (tag a0000003, no flags).</summary>
    public BackupStreamBuilder Junction(string printName) =>
        Stream(ReparseData, ReparseBuffer(0xA0000003, @"\??\" + printName, printName, flags: null));

    public static byte[] ReparseBuffer(uint tag, string substituteName, string printName, uint? flags)
    {
        var substitute = Encoding.Unicode.GetBytes(substituteName + "\0");
        var print = Encoding.Unicode.GetBytes(printName + "\0");
        var flagsLength = flags is null ? 0 : 4;
        var buffer = new byte[8 + 8 + flagsLength + substitute.Length + print.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, tag);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(4), (ushort)(buffer.Length - 8));
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(8), 0);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(10), (ushort)(substitute.Length - 2));
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(12), (ushort)substitute.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(14), (ushort)(print.Length - 2));
        if (flags is { } f)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(16), f);
        }

        substitute.CopyTo(buffer, 16 + flagsLength);
        print.CopyTo(buffer, 16 + flagsLength + substitute.Length);
        return buffer;
    }

    public BackupStreamBuilder Append(byte[] bytes)
    {
        _bytes.AddRange(bytes);
        return this;
    }

    public byte[] ToArray() => [.. _bytes];

    private BackupStreamBuilder Header(uint id, uint attributes, ulong size, string name)
    {
        var nameBytes = Encoding.Unicode.GetBytes(name);
        var header = new byte[20];
        BinaryPrimitives.WriteUInt32LittleEndian(header, id);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), attributes);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), size);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), (uint)nameBytes.Length);
        return Append(header).Append(nameBytes);
    }
}
