using System.Buffers.Binary;

namespace LayerExport.Core.TarSplit;

/// <summary>CRC-64/GO-ISO, the checksum tar-split records for file content (Go's <c>hash/crc64</c> with the ISO table).</summary>
/// <remarks>
/// Reflected polynomial 0xD800000000000000, initial value and final xor all ones. <see cref="Append"/> takes and
/// returns the finished value, as Go's <c>crc64.Update</c> does, so a checksum can be built chunk by chunk.
/// Eight bytes are folded per step through eight derived tables.
/// </remarks>
public static class Crc64Iso
{
    private const ulong ReflectedPolynomial = 0xD800000000000000;

    private static readonly ulong[] Tables = BuildTables();

    /// <summary>The checksum of <paramref name="data"/>.</summary>
    public static ulong Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>The checksum of the bytes that gave <paramref name="crc"/> followed by <paramref name="data"/>.</summary>
    public static ulong Append(ulong crc, ReadOnlySpan<byte> data)
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
