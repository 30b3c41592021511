using System.Security.Cryptography;

namespace SidecarTests.Infrastructure;

/// <summary>Digests as OCI writes them.</summary>
internal static class Digests
{
    public static string Sha256(ReadOnlySpan<byte> bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
}
