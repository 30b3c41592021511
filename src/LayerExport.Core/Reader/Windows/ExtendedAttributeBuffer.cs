using System.Buffers.Binary;

namespace LayerExport.Core.Reader.Windows;

/// <summary>Decodes the payload of an extended-attribute stream: a chain of FILE_FULL_EA_INFORMATION entries.</summary>
/// <remarks>
/// Each entry is <c>u32 nextEntryOffset, u8 flags, u8 nameLength, u16 valueLength</c>, the name, a NUL, then the
/// value; <c>nextEntryOffset</c> 0 ends the chain. The flags are dropped: a tar record has no place for them.
/// </remarks>
internal static class ExtendedAttributeBuffer
{
    private const int EntryHeaderLength = 8;

    /// <summary>The attributes in buffer order, as raw name and value bytes.</summary>
    public static List<(byte[] Name, byte[] Value)> Decode(ReadOnlySpan<byte> buffer)
    {
        var attributes = new List<(byte[] Name, byte[] Value)>();
        while (!buffer.IsEmpty)
        {
            if (buffer.Length < EntryHeaderLength)
            {
                throw Invalid();
            }

            var next = BinaryPrimitives.ReadUInt32LittleEndian(buffer);
            var nameLength = buffer[5];
            var valueLength = BinaryPrimitives.ReadUInt16LittleEndian(buffer[6..]);
            var valueOffset = EntryHeaderLength + nameLength + 1;
            if (valueOffset + valueLength > buffer.Length || next > buffer.Length)
            {
                throw Invalid();
            }

            attributes.Add((buffer.Slice(EntryHeaderLength, nameLength).ToArray(), buffer.Slice(valueOffset, valueLength).ToArray()));
            buffer = next == 0 ? [] : buffer[(int)next..];
        }

        return attributes;
    }

    private static InvalidDataException Invalid() => new("invalid extended attribute buffer");
}
