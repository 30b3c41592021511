namespace LayerExport.Core.Reader;

/// <summary>Ordinal byte-wise order of names, the order Go's directory walk and the OCI peers use.</summary>
public sealed class ByteOrder : IComparer<byte[]>
{
    /// <summary>The one instance.</summary>
    public static ByteOrder Instance { get; } = new();

    /// <inheritdoc />
    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
}
