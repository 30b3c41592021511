using System.Buffers.Binary;
using System.Text;
using LayerExport.Core.Native;

namespace LayerExport.Core.Reader.Windows;

/// <summary>Splits a Win32 backup stream into its streams: a <c>WIN32_STREAM_ID</c> header, the name, then the payload, again and again.</summary>
/// <remarks>
/// A header is <c>u32 id, u32 attributes, u64 size, u32 nameSize</c> (little-endian), followed by
/// <c>nameSize</c> bytes of UTF-16LE name; a sparse block's size also counts the 8-byte offset that follows the
/// name. Every header and payload must lie inside the file: a truncated stream is an error, never an early end.
/// </remarks>
internal static class BackupStreamParser
{
    private const int StreamIdLength = 20;
    private const int SparseOffsetLength = 8;

    /// <summary>The streams stored in <paramref name="file"/> from <paramref name="start"/> to <paramref name="end"/>.</summary>
    public static List<BackupStreamHeader> Parse(FileDescriptor file, long start, long end)
    {
        var headers = new List<BackupStreamHeader>();
        Span<byte> fixedPart = stackalloc byte[StreamIdLength];
        Span<byte> offsetBytes = stackalloc byte[SparseOffsetLength];
        for (var offset = start; offset < end;)
        {
            if (end - offset < StreamIdLength)
            {
                throw Truncated($"{end - offset} bytes at offset {offset} are too few for a stream header");
            }

            ReadExactly(file, fixedPart, offset);
            var id = (BackupStreamId)BinaryPrimitives.ReadUInt32LittleEndian(fixedPart);
            var attributes = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart[4..]);
            var size = BinaryPrimitives.ReadUInt64LittleEndian(fixedPart[8..]);
            var nameSize = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart[16..]);
            offset += StreamIdLength;

            if (nameSize % 2 != 0)
            {
                throw new InvalidDataException($"backup stream header at offset {offset - StreamIdLength} has an odd name size {nameSize}");
            }

            if (nameSize > end - offset)
            {
                throw Truncated($"the name of stream {(uint)id} at offset {offset} runs past the end of the file");
            }

            var nameBytes = new byte[nameSize];
            ReadExactly(file, nameBytes, offset);
            offset += nameSize;

            long sparseOffset = 0;
            if (id == BackupStreamId.SparseBlock)
            {
                if (size < SparseOffsetLength || end - offset < SparseOffsetLength)
                {
                    throw Truncated($"the sparse block at offset {offset} has no room for its 8-byte offset");
                }

                ReadExactly(file, offsetBytes, offset);
                sparseOffset = BinaryPrimitives.ReadInt64LittleEndian(offsetBytes);
                offset += SparseOffsetLength;
                size -= SparseOffsetLength;
            }

            if (size > (ulong)(end - offset))
            {
                throw Truncated($"stream {(uint)id} of {size} bytes at offset {offset} runs past the end of the file ({end} bytes)");
            }

            headers.Add(new BackupStreamHeader(id, attributes, (long)size, DecodeName(nameBytes), sparseOffset, offset));
            offset += (long)size;
        }

        return headers;
    }

    /// <summary>Reads exactly <paramref name="destination"/>'s length at <paramref name="offset"/>.</summary>
    public static void ReadExactly(FileDescriptor file, Span<byte> destination, long offset)
    {
        for (var done = 0; done < destination.Length;)
        {
            var n = file.ReadAt(destination[done..], offset + done);
            if (n == 0)
            {
                throw new LayerChangedException($"file ended at {offset + done} bytes while being read");
            }

            done += n;
        }
    }

    // Windows stops a stream name at its first NUL; unpaired surrogates become U+FFFD, as Go decodes them.
    private static string DecodeName(byte[] utf16)
    {
        var name = Encoding.Unicode.GetString(utf16);
        var nul = name.IndexOf('\0', StringComparison.Ordinal);
        return nul >= 0 ? name[..nul] : name;
    }

    private static InvalidDataException Truncated(string detail) => new($"truncated backup stream: {detail}");
}
