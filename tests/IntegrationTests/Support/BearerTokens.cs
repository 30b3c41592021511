using System.Security.Cryptography;
using System.Text;

namespace IntegrationTests.Support;

/// <summary>Tokens and their configured form, the lowercase hex SHA-256 that <c>printf %s "$TOKEN" | sha256sum</c> prints.</summary>
internal static class BearerTokens
{
    public static string Sha256Hex(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public static string Sha256Base64(string token) => Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>A fresh random token, as an operator would generate one.</summary>
    public static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    /// <summary>Settings that make <paramref name="tokens"/> the accepted ones.</summary>
    public static Dictionary<string, string> Settings(params string[] tokens) =>
        tokens.Select((token, i) => (Key: $"Authentication:TokenSha256Hashes:{i}", Value: Sha256Hex(token))).ToDictionary(p => p.Key, p => p.Value);
}
