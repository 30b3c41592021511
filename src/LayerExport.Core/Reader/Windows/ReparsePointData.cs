using System.Buffers.Binary;
using System.Text;

namespace LayerExport.Core.Reader.Windows;

/// <summary>Decodes a reparse stream (REPARSE_DATA_BUFFER) into the target tar carries: a symlink's or junction's print name.</summary>
/// <remarks>
/// Layout: <c>u32 tag, u16 dataLength, u16 reserved</c>, then <c>u16 substituteNameOffset, u16 substituteNameLength,
/// u16 printNameOffset, u16 printNameLength</c>, for a symlink a <c>u32</c> of flags, then the UTF-16LE path
/// buffer the offsets point into. Only the print name travels; any other tag cannot be exported.
/// </remarks>
internal static class ReparsePointData
{
    /// <summary>IO_REPARSE_TAG_MOUNT_POINT: a junction.</summary>
    public const uint MountPointTag = 0xA0000003;

    /// <summary>IO_REPARSE_TAG_SYMLINK.</summary>
    public const uint SymbolicLinkTag = 0xA000000C;

    private const int TagHeaderLength = 8;
    private const int NamesHeaderLength = 8;
    private const int SymbolicLinkFlagsLength = 4;

    /// <summary>The print name as UTF-8 (backslashes kept) and whether the point is a mount point.</summary>
    public static (byte[] Target, bool IsMountPoint) Decode(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length < TagHeaderLength + NamesHeaderLength)
        {
            throw new InvalidDataException($"reparse data of {buffer.Length} bytes is too short");
        }

        var tag = BinaryPrimitives.ReadUInt32LittleEndian(buffer);
        var isMountPoint = tag switch
        {
            MountPointTag => true,
            SymbolicLinkTag => false,
            _ => throw new InvalidDataException(
                $"unsupported reparse point {tag:x}: only symbolic links (a000000c) and mount points (a0000003) can be exported"),
        };

        var data = buffer[TagHeaderLength..];
        var nameOffset = NamesHeaderLength + BinaryPrimitives.ReadUInt16LittleEndian(data[4..]) + (isMountPoint ? 0 : SymbolicLinkFlagsLength);
        var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(data[6..]);
        if (nameOffset + nameLength > data.Length)
        {
            throw new InvalidDataException($"the print name of the reparse point ({nameLength} bytes at {nameOffset}) runs past its {data.Length} bytes");
        }

        // Go reads nameLength / 2 UTF-16 units; unpaired surrogates become U+FFFD.
        var name = data.Slice(nameOffset, nameLength / 2 * 2);
        return (Encoding.UTF8.GetBytes(Encoding.Unicode.GetString(name)), isMountPoint);
    }
}
