using System.Buffers.Binary;
using System.Security.Cryptography;

namespace LayerExport.Core.Compression;

/// <summary>The compressed length of every block of a block-gzip body, and its trailer: what resuming it mid-way needs.</summary>
/// <remarks>
/// A block's compressed bytes depend only on its tar bytes, the level and the block size, so a body can be
/// produced again from any block on: compress from the block that holds the wanted offset, drop what comes before
/// the offset, and end with the stored trailer (the CRC-32 covers the whole tar, which a resumed export never reads).
/// Each block produced again is checked against its stored length.
/// </remarks>
/// <param name="BlockSize">Tar bytes per block.</param>
/// <param name="CompressedLengths">Compressed bytes of each block, in order; the last one is the final deflate block.</param>
/// <param name="Crc32">CRC-32 of the whole tar, as the gzip trailer holds it.</param>
/// <param name="TarLength">Length of the tar.</param>
public sealed record GzipBlockIndex(int BlockSize, IReadOnlyList<int> CompressedLengths, uint Crc32, long TarLength)
{
    /// <summary>Bytes of the fixed gzip header.</summary>
    public const int HeaderLength = 10;

    /// <summary>Bytes of the gzip trailer: CRC-32 and the tar length modulo 2^32.</summary>
    public const int TrailerLength = 8;

    /// <summary>Length of the whole gzip body.</summary>
    public long Size => HeaderLength + CompressedLengths.Sum(static length => (long)length) + TrailerLength;

    /// <summary>The block that holds body byte <paramref name="offset"/> (the block count when it is in the trailer) and the body offset where that block starts.</summary>
    /// <remarks>The header counts as the start of block 0.</remarks>
    public (int Block, long BlockStart) Locate(long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        long start = 0;
        long end = HeaderLength;
        for (var block = 0; block < CompressedLengths.Count; block++)
        {
            end += CompressedLengths[block];
            if (offset < end)
            {
                return (block, start);
            }

            start = end;
        }

        return (CompressedLengths.Count, start);
    }

    /// <summary>SHA-256, in lowercase hex, of the block size, tar length, CRC-32 and compressed lengths, each little-endian, in that order.</summary>
    /// <remarks>A kept copy is checked against it when read: a damaged field would otherwise reach a resume as it is.</remarks>
    public string Checksum()
    {
        var bytes = new byte[4 + 8 + 4 + (4 * CompressedLengths.Count)];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, BlockSize);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(4), TarLength);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(12), Crc32);
        for (var block = 0; block < CompressedLengths.Count; block++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(16 + (4 * block)), CompressedLengths[block]);
        }

        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    /// <summary>The gzip trailer.</summary>
    public byte[] Trailer()
    {
        var trailer = new byte[TrailerLength];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, Crc32);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer.AsSpan(4), (uint)TarLength);
        return trailer;
    }
}
