using System.Security.Cryptography;
using System.Text;

namespace LayerExportApi.Security;

/// <summary>The accepted bearer tokens, held as SHA-256 hashes; a presented token is hashed and compared in constant time.</summary>
/// <remarks>
/// Comparing hashes of fixed length leaks neither the token's length nor how many leading bytes matched, and
/// every configured hash is compared for every token, so the time taken does not tell which one matched.
/// </remarks>
internal sealed class TokenHashes
{
    /// <summary>Compares two hashes; <see cref="CryptographicOperations.FixedTimeEquals"/> unless a test observes it.</summary>
    public delegate bool HashEquality(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right);

    private readonly byte[][] _hashes;

    /// <summary>Reads the configured hex hashes, which start-up validation has already checked.</summary>
    public TokenHashes(IEnumerable<string> hexHashes, HashEquality? equality = null)
    {
        _hashes = [.. hexHashes.Select(Convert.FromHexString)];
        Equality = equality ?? CryptographicOperations.FixedTimeEquals;
    }

    /// <summary>False when no hash is configured: authentication is off.</summary>
    public bool Enabled => _hashes.Length > 0;

    /// <summary>The comparison used for every hash.</summary>
    public HashEquality Equality { get; }

    /// <summary>True when <paramref name="token"/> hashes to one of the configured hashes.</summary>
    public bool Accepts(string token)
    {
        Span<byte> presented = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(token), presented);
        var accepted = false;
        foreach (var hash in _hashes)
        {
            // No early exit: the time does not depend on which hash matched, or whether one did.
            accepted |= Equality(presented, hash);
        }

        CryptographicOperations.ZeroMemory(presented);
        return accepted;
    }

    /// <summary>True for 64 hex digits, the form a SHA-256 hash is configured in.</summary>
    public static bool IsHexHash(string? text) =>
        text is { Length: SHA256.HashSizeInBytes * 2 } && text.All(char.IsAsciiHexDigit);
}
