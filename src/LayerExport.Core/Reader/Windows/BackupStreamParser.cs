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

    /// <summary>The most streams one file's backup stream may hold.</summary>
    /// <remarks>
    /// Every 20 bytes can be a stream header (20 zero bytes are one), so without a bound a large file would be held
    /// in memory as millions of headers. A real file has a handful: data, security, EAs, one per alternate data
    /// stream, and for a sparse file one block per allocated range; NTFS allocates a sparse file in units of 16
    /// clusters (64 KiB on a default volume), so 65,536 ranges take 8 GiB of alternating data and holes, far beyond
    /// any file of a container layer. The parse then stays short too: a few hundred thousand reads at most.
    /// </remarks>
    public const int MaxStreams = 1 << 16;

    /// <summary>The longest alternate data stream name read, in bytes.</summary>
    /// <remarks>NTFS allows 255 UTF-16 units, so <c>:&lt;name&gt;:$DATA</c> is at most 524 bytes; this leaves room for a NUL.</remarks>
    public const int MaxNameLength = 1024;

    /// <summary>The streams stored in <paramref name="file"/> from <paramref name="start"/> to <paramref name="end"/>.</summary>
    /// <param name="file">The file holding the backup stream.</param>
    /// <param name="start">Where the first stream header is.</param>
    /// <param name="end">The end of the file.</param>
    /// <param name="twoPass">
    /// How the streams will be read (see <see cref="BackupStreamInterpreter"/>): a one-pass reader reports an unknown
    /// stream after the data stream as "after data", as backuptar does.
    /// </param>
    /// <exception cref="InvalidDataException">
    /// A header, name or payload runs past <paramref name="end"/>, a stream ID is unknown, an alternate data stream
    /// name is longer than <see cref="MaxNameLength"/>, or there are more than <see cref="MaxStreams"/> streams.
    /// Each is found as soon as its header is read, so memory and time stay bounded whatever the file holds.
    /// </exception>
    public static List<BackupStreamHeader> Parse(FileDescriptor file, long start, long end, bool twoPass)
    {
        var headers = new List<BackupStreamHeader>();
        var afterData = false;
        Span<byte> fixedPart = stackalloc byte[StreamIdLength];
        Span<byte> offsetBytes = stackalloc byte[SparseOffsetLength];
        for (var offset = start; offset < end;)
        {
            if (end - offset < StreamIdLength)
            {
                throw Truncated($"{end - offset} bytes at offset {offset} are too few for a stream header");
            }

            if (headers.Count == MaxStreams)
            {
                throw new InvalidDataException($"more than {MaxStreams} streams in one backup stream, which no Windows file has");
            }

            ReadExactly(file, fixedPart, offset);
            var id = (BackupStreamId)BinaryPrimitives.ReadUInt32LittleEndian(fixedPart);
            var attributes = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart[4..]);
            var size = BinaryPrimitives.ReadUInt64LittleEndian(fixedPart[8..]);
            var nameSize = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart[16..]);
            offset += StreamIdLength;

            if (id is < BackupStreamId.Data or > BackupStreamId.TransactionalData)
            {
                throw new InvalidDataException(afterData && !twoPass ? $"unknown stream ID {(uint)id} after data" : $"unknown stream ID {(uint)id}");
            }

            afterData |= id == BackupStreamId.Data;
            if (nameSize % 2 != 0)
            {
                throw new InvalidDataException($"backup stream header at offset {offset - StreamIdLength} has an odd name size {nameSize}");
            }

            if (nameSize > end - offset)
            {
                throw Truncated($"the name of stream {(uint)id} at offset {offset} runs past the end of the file");
            }

            var name = id == BackupStreamId.AlternateData ? ReadName(file, offset, nameSize) : "";
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

            headers.Add(new BackupStreamHeader(id, attributes, (long)size, name, sparseOffset, offset));
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

    // Only alternate data streams have a name that is used; reading no other keeps a file's names bounded.
    // Windows stops a stream name at its first NUL; unpaired surrogates become U+FFFD, as Go decodes them.
    private static string ReadName(FileDescriptor file, long offset, uint nameSize)
    {
        if (nameSize > MaxNameLength)
        {
            throw new InvalidDataException($"alternate data stream name of {nameSize} bytes is longer than NTFS allows");
        }

        var utf16 = new byte[nameSize];
        ReadExactly(file, utf16, offset);
        var name = Encoding.Unicode.GetString(utf16);
        var nul = name.IndexOf('\0', StringComparison.Ordinal);
        return nul >= 0 ? name[..nul] : name;
    }

    private static InvalidDataException Truncated(string detail) => new($"truncated backup stream: {detail}");
}
