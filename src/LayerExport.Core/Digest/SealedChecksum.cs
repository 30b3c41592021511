using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace LayerExport.Core.Digest;

/// <summary>A tar's XXH3-128 sealed with its diffID: what a later export of the same layer state holds its bytes to instead of SHA-256.</summary>
/// <remarks>
/// A plain download of a layer state exported before is held to it before its last bytes instead of to the SHA-256
/// of its diffID, which took most of its CPU: XXH3 runs at about 20 GB/s a core here, SHA-256 at 1.5. Like the
/// fingerprint it guards against accidents (a write within a timestamp tick, a damaged disk), not against a forger,
/// who would have to change the layer's files without moving their ctime, which takes root. The seal covers the
/// diffID, so a kept entry whose diffID or check alone is damaged fails, as a damaged diffID failed the SHA-256.
/// </remarks>
public static class SealedChecksum
{
    private const int HexDigits = 32;

    private static readonly SearchValues<char> LowerHex = SearchValues.Create("0123456789abcdef");

    /// <summary>The check of a tar of digest <paramref name="diffId"/> whose XXH3-128 is <paramref name="checksum"/>: the XXH3-128, in 32 lowercase hex digits, of the diffID's text followed by the checksum, little-endian.</summary>
    public static string Seal(LayerDigest diffId, UInt128 checksum)
    {
        Span<byte> sealedBytes = stackalloc byte[71 + 16];
        var written = Encoding.ASCII.GetBytes(diffId.Value, sealedBytes);
        BinaryPrimitives.WriteUInt128LittleEndian(sealedBytes[written..], checksum);
        return Convert.ToHexStringLower(XxHash128.Hash(sealedBytes[..(written + 16)]));
    }

    /// <summary>Whether <paramref name="text"/> has the form <see cref="Seal"/> gives.</summary>
    public static bool IsWellFormed(string? text) => text is { Length: HexDigits } && !text.AsSpan().ContainsAnyExcept(LowerHex);
}
