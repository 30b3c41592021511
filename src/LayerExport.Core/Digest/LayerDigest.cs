namespace LayerExport.Core.Digest;

/// <summary>An OCI content digest, <c>sha256:&lt;64 lowercase hex&gt;</c>.</summary>
public readonly record struct LayerDigest(string Value)
{
    /// <summary>Wraps a raw SHA-256 hash.</summary>
    public static LayerDigest FromHash(ReadOnlySpan<byte> sha256) => new("sha256:" + Convert.ToHexStringLower(sha256));

    /// <inheritdoc />
    public override string ToString() => Value;
}
