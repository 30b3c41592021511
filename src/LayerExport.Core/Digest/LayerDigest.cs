using System.Buffers;

namespace LayerExport.Core.Digest;

/// <summary>An OCI content digest, <c>sha256:&lt;64 lowercase hex&gt;</c>.</summary>
public readonly record struct LayerDigest(string Value)
{
    private static readonly SearchValues<char> LowerHex = SearchValues.Create("0123456789abcdef");

    /// <summary>Wraps a raw SHA-256 hash.</summary>
    public static LayerDigest FromHash(ReadOnlySpan<byte> sha256) => new("sha256:" + Convert.ToHexStringLower(sha256));

    /// <summary>Whether <paramref name="text"/> is a digest of this form.</summary>
    public static bool IsWellFormed(string? text) =>
        text is { Length: 71 } && text.StartsWith("sha256:", StringComparison.Ordinal) && !text.AsSpan(7).ContainsAnyExcept(LowerHex);

    /// <inheritdoc />
    public override string ToString() => Value;
}
