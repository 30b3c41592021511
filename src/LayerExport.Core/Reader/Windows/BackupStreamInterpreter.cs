using System.Text;
using LayerExport.Core.Native;

namespace LayerExport.Core.Reader.Windows;

/// <summary>Reads a parsed backup stream the way go-winio's backuptar writes it to tar, minus its sparse-file bugs.</summary>
/// <remarks>
/// <para>
/// A two-pass reader (hcsshim's legacy reader, for everything under <c>Files/</c> of a transport directory) scans
/// every stream for the header (security descriptor, reparse data, extended attributes) before the data; a
/// single-pass reader (base layers) stops at the data stream, so metadata after it is lost, as in the seed.
/// After the data, alternate data streams become entries; extended attributes, links, property data, object IDs
/// and transactional data are ignored; any other stream is an error, as is an unknown stream ID anywhere.
/// </para>
/// <para>
/// Sparse files: an empty sparse data stream is followed by sparse blocks ending with an empty terminator whose
/// offset is the file's logical size. That size is taken from the blocks (hcsshim#2926 took the data stream's 0),
/// sparse blocks are accepted in the first pass (go-winio#375 rejected them as an unknown stream ID), a lone
/// terminator after an empty sparse file is consumed, and the holes are written as zeros.
/// </para>
/// </remarks>
internal static class BackupStreamInterpreter
{
    private const long RegularFileBits = 0x8000;
    private const long SymbolicLinkBits = 0xA000;

    // A metadata stream larger than this could not fit a PAX header anyway.
    private const int MaxMetadataStreamLength = 1 << 20;

    /// <summary>Reads <paramref name="streams"/> (stored in <paramref name="file"/>) for one entry.</summary>
    /// <param name="file">The file holding the backup stream.</param>
    /// <param name="streams">Its streams, in order.</param>
    /// <param name="twoPass">True to gather header metadata from every stream, not just those before the data.</param>
    /// <param name="isDirectory">True for a directory, whose size is 0 whatever its streams say.</param>
    public static BackupStreamContent Read(FileDescriptor file, IReadOnlyList<BackupStreamHeader> streams, bool twoPass, bool isDirectory)
    {
        var result = new BackupStreamContent();
        var dataIndex = FirstDataStream(streams);
        result.Size = isDirectory ? 0 : LogicalSize(streams, dataIndex);

        var scanned = twoPass || dataIndex < 0 ? streams.Count : dataIndex + 1;
        for (var i = 0; i < scanned; i++)
        {
            ApplyMetadata(file, streams[i], result, acceptSparseBlocks: twoPass);
        }

        // Without a data stream every stream was consumed looking for it: nothing follows, no alternate streams.
        var next = dataIndex < 0 ? streams.Count : ReadData(streams, dataIndex, result);
        for (var i = next; i < streams.Count; i++)
        {
            ReadAfterData(streams[i], result);
        }

        return result;
    }

    private static int FirstDataStream(IReadOnlyList<BackupStreamHeader> streams)
    {
        for (var i = 0; i < streams.Count; i++)
        {
            if (streams[i].Id == BackupStreamId.Data)
            {
                return i;
            }
        }

        return -1;
    }

    private static long LogicalSize(IReadOnlyList<BackupStreamHeader> streams, int dataIndex)
    {
        if (dataIndex < 0)
        {
            return 0;
        }

        var data = streams[dataIndex];
        return data.Size > 0 || !data.IsSparse ? data.Size : SparseRun(streams, dataIndex + 1).Length;
    }

    private static void ApplyMetadata(FileDescriptor file, BackupStreamHeader stream, BackupStreamContent result, bool acceptSparseBlocks)
    {
        switch (stream.Id)
        {
            case BackupStreamId.Data:
                result.ModeBits |= RegularFileBits;
                break;
            case BackupStreamId.Security:
                result.SecurityDescriptor = ReadPayload(file, stream);
                break;
            case BackupStreamId.ReparseData:
                var (target, isMountPoint) = ReparsePointData.Decode(ReadPayload(file, stream));
                result.ModeBits |= SymbolicLinkBits;
                result.IsReparsePoint = true;
                result.LinkName = target;
                result.IsMountPoint |= isMountPoint;
                break;
            case BackupStreamId.ExtendedAttributes:
                foreach (var (name, value) in ExtendedAttributeBuffer.Decode(ReadPayload(file, stream)))
                {
                    result.ExtendedAttributes[Encoding.Latin1.GetString(name)] = (name, value);
                }

                break;
            case BackupStreamId.AlternateData or BackupStreamId.Link or BackupStreamId.PropertyData
                or BackupStreamId.ObjectId or BackupStreamId.TransactionalData:
                break;
            case BackupStreamId.SparseBlock when acceptSparseBlocks:
                break;
            default:
                throw new InvalidDataException($"unknown stream ID {stream.Number}");
        }
    }

    // Returns the index of the first stream after the content.
    private static int ReadData(IReadOnlyList<BackupStreamHeader> streams, int dataIndex, BackupStreamContent result)
    {
        var data = streams[dataIndex];
        if (data.Size > 0 || !data.IsSparse)
        {
            if (result.Size != data.Size)
            {
                throw new InvalidDataException($"mismatch between file size {result.Size} and header size {data.Size}");
            }

            if (data.Size > 0)
            {
                result.Content.Add(new ContentSegment(data.Size, data.PayloadOffset));
            }

            return dataIndex + 1;
        }

        var (segments, length, next) = SparseRun(streams, dataIndex + 1);
        if (length != result.Size)
        {
            throw new InvalidDataException($"mismatch between file size {result.Size} and sparse data of {length} bytes");
        }

        result.Content.AddRange(segments);
        return next;
    }

    // The sparse blocks from `start`: content pieces with zeros for the holes, the logical length the terminator
    // names, and the index after the terminator. No block at `start` means an empty file.
    private static (List<ContentSegment> Segments, long Length, int Next) SparseRun(IReadOnlyList<BackupStreamHeader> streams, int start)
    {
        var segments = new List<ContentSegment>();
        if (start >= streams.Count || streams[start].Id != BackupStreamId.SparseBlock)
        {
            return (segments, 0, start);
        }

        long position = 0;
        for (var i = start; ; i++)
        {
            if (i >= streams.Count)
            {
                throw new InvalidDataException("the sparse blocks end without the empty block that closes them");
            }

            var block = streams[i];
            if (block.Id != BackupStreamId.SparseBlock)
            {
                throw new InvalidDataException($"unexpected stream {block.Number} among the sparse blocks");
            }

            if (block.SparseOffset < position || block.SparseOffset > long.MaxValue - block.Size)
            {
                throw new InvalidDataException($"cannot seek back from {position} to {block.SparseOffset}");
            }

            if (block.SparseOffset > position)
            {
                segments.Add(ContentSegment.Zeros(block.SparseOffset - position));
            }

            if (block.Size == 0)
            {
                return (segments, block.SparseOffset, i + 1);
            }

            segments.Add(new ContentSegment(block.Size, block.PayloadOffset));
            position = block.SparseOffset + block.Size;
        }
    }

    // The suffix becomes part of a tar member's name, so it must stay one NTFS stream name, which never holds '/',
    // '\\' or ':' (a name ends at its first NUL when parsed): ":/../x:$DATA" would otherwise name a path outside the
    // file. Like hcsshim, only $DATA streams.
    private static string StreamSuffix(string name)
    {
        const string DataType = ":$DATA";
        if (!name.StartsWith(':') || !name.EndsWith(DataType, StringComparison.Ordinal) || name.Length <= DataType.Length + 1
            || name.AsSpan(1, name.Length - DataType.Length - 1).IndexOfAny("/\\:") >= 0)
        {
            throw new InvalidDataException($"alternate data stream name '{name}' is not ':<stream name>:$DATA'");
        }

        return name[..^DataType.Length];
    }

    private static void ReadAfterData(BackupStreamHeader stream, BackupStreamContent result)
    {
        switch (stream.Id)
        {
            case BackupStreamId.AlternateData when stream.IsSparse:
                throw new InvalidDataException("tar of sparse alternate data streams is unsupported");
            case BackupStreamId.AlternateData:
                result.AlternateStreams.Add(new AlternateDataStream(Encoding.UTF8.GetBytes(StreamSuffix(stream.Name)), stream.Size, stream.PayloadOffset));
                break;
            case BackupStreamId.ExtendedAttributes or BackupStreamId.Link or BackupStreamId.PropertyData
                or BackupStreamId.ObjectId or BackupStreamId.TransactionalData:
                break;
            default:
                throw new InvalidDataException($"unknown stream ID {stream.Number} after data");
        }
    }

    private static byte[] ReadPayload(FileDescriptor file, BackupStreamHeader stream)
    {
        if (stream.Size > MaxMetadataStreamLength)
        {
            throw new InvalidDataException($"stream {stream.Number} of {stream.Size} bytes is too large for a tar header");
        }

        var payload = new byte[stream.Size];
        BackupStreamParser.ReadExactly(file, payload, stream.PayloadOffset);
        return payload;
    }
}
