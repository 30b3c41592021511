using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LayerExport.Core.TarSplit;

/// <summary>CRC-64/GO-ISO, the checksum tar-split records for file content (Go's <c>hash/crc64</c> with the ISO table).</summary>
/// <remarks>
/// Reflected polynomial 0xD800000000000000, initial value and final xor all ones. <see cref="Append"/> takes and
/// returns the finished value, as Go's <c>crc64.Update</c> does, so a checksum can be built chunk by chunk.
/// Where the CPU multiplies without carries (PCLMULQDQ), long inputs are folded 64 bytes a step and only the last
/// 16 to 31 bytes go through the tables: a reassembled tar checks every file's content on the writer's thread, and
/// eight bytes a step through eight derived tables ran slower than the tar's SHA-256 (1.7 against 1.9 GB/s).
/// </remarks>
public static class Crc64Iso
{
    private const ulong ReflectedPolynomial = 0xD800000000000000;

    // Below this the tables are as fast: the folding loop needs 64 bytes to start.
    private const int FoldingMinimum = 128;

    private static readonly ulong[] Tables = BuildTables();

    // Multipliers that move 128 bits of input 512 bits (four lanes) or 128 bits further along.
    private static readonly Vector128<ulong> FourLanesOn = FoldingKeys(512);
    private static readonly Vector128<ulong> OneLaneOn = FoldingKeys(128);

    /// <summary>The checksum of <paramref name="data"/>.</summary>
    public static ulong Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>The checksum of the bytes that gave <paramref name="crc"/> followed by <paramref name="data"/>.</summary>
    public static ulong Append(ulong crc, ReadOnlySpan<byte> data) =>
        Pclmulqdq.IsSupported && data.Length >= FoldingMinimum ? AppendFolded(crc, data) : AppendByTables(crc, data);

    /// <summary>As <see cref="Append"/>, through the tables alone: the reference the folded form is tested against.</summary>
    internal static ulong AppendByTables(ulong crc, ReadOnlySpan<byte> data)
    {
        var tables = Tables.AsSpan();
        var state = ~crc;
        while (data.Length >= 8)
        {
            state ^= BinaryPrimitives.ReadUInt64LittleEndian(data);
            state = tables[(7 * 256) + (byte)state]
                ^ tables[(6 * 256) + (byte)(state >> 8)]
                ^ tables[(5 * 256) + (byte)(state >> 16)]
                ^ tables[(4 * 256) + (byte)(state >> 24)]
                ^ tables[(3 * 256) + (byte)(state >> 32)]
                ^ tables[(2 * 256) + (byte)(state >> 40)]
                ^ tables[256 + (byte)(state >> 48)]
                ^ tables[(byte)(state >> 56)];
            data = data[8..];
        }

        foreach (var b in data)
        {
            state = tables[(byte)(state ^ b)] ^ (state >> 8);
        }

        return ~state;
    }

    // Folding keeps a polynomial congruent to the input so far modulo the CRC's: each 128-bit lane L is replaced by
    // L * x^distance (mod P) and the next input xored in. The lanes' bits are reflected, like the CRC's, so a carryless
    // product comes out one degree short, which the keys make up for (x^(d-1), x^(d+63) for a distance d). What is
    // left, 16 bytes congruent to everything folded, goes through the tables with the bytes after it.
    private static ulong AppendFolded(ulong crc, ReadOnlySpan<byte> data)
    {
        var lane0 = Load(data, 0) ^ Vector128.CreateScalar(~crc);
        var lane1 = Load(data, 16);
        var lane2 = Load(data, 32);
        var lane3 = Load(data, 48);
        var offset = 64;
        for (; data.Length - offset >= 64; offset += 64)
        {
            lane0 = Fold(lane0, FourLanesOn) ^ Load(data, offset);
            lane1 = Fold(lane1, FourLanesOn) ^ Load(data, offset + 16);
            lane2 = Fold(lane2, FourLanesOn) ^ Load(data, offset + 32);
            lane3 = Fold(lane3, FourLanesOn) ^ Load(data, offset + 48);
        }

        var folded = Fold(Fold(Fold(lane0, OneLaneOn) ^ lane1, OneLaneOn) ^ lane2, OneLaneOn) ^ lane3;
        for (; data.Length - offset >= 16; offset += 16)
        {
            folded = Fold(folded, OneLaneOn) ^ Load(data, offset);
        }

        Span<byte> rest = stackalloc byte[16];
        MemoryMarshal.Write(rest, folded);

        // All ones in, the tables start from a zero state: the folded lane already holds the initial value.
        return AppendByTables(AppendByTables(ulong.MaxValue, rest), data[offset..]);
    }

    private static Vector128<ulong> Load(ReadOnlySpan<byte> data, int offset) =>
        MemoryMarshal.Read<Vector128<ulong>>(data[offset..]);

    private static Vector128<ulong> Fold(Vector128<ulong> lane, Vector128<ulong> keys) =>
        Pclmulqdq.CarrylessMultiply(lane, keys, 0x00) ^ Pclmulqdq.CarrylessMultiply(lane, keys, 0x11);

    // The lane's low half holds its higher-degree bits (reflected): it is moved by x^(d+64), its high half by x^d.
    private static Vector128<ulong> FoldingKeys(int distance) =>
        Vector128.Create(Reflect(PowerOfX(distance + 63)), Reflect(PowerOfX(distance - 1)));

    // x^n modulo x^64 + x^4 + x^3 + x + 1, bit i the coefficient of x^i.
    private static ulong PowerOfX(int n)
    {
        var value = 1UL;
        for (var i = 0; i < n; i++)
        {
            value = (value << 1) ^ ((value >> 63) * 0x1B);
        }

        return value;
    }

    private static ulong Reflect(ulong value)
    {
        var reflected = 0UL;
        for (var bit = 0; bit < 64; bit++, value >>= 1)
        {
            reflected = (reflected << 1) | (value & 1);
        }

        return reflected;
    }

    // Table k maps a byte to its effect k bytes further along, so eight input bytes fold in one step.
    private static ulong[] BuildTables()
    {
        var tables = new ulong[8 * 256];
        for (var i = 0; i < 256; i++)
        {
            var value = (ulong)i;
            for (var bit = 0; bit < 8; bit++)
            {
                value = (value & 1) != 0 ? (value >> 1) ^ ReflectedPolynomial : value >> 1;
            }

            tables[i] = value;
        }

        for (var k = 1; k < 8; k++)
        {
            for (var i = 0; i < 256; i++)
            {
                var previous = tables[((k - 1) * 256) + i];
                tables[(k * 256) + i] = tables[(int)(previous & 0xFF)] ^ (previous >> 8);
            }
        }

        return tables;
    }
}
