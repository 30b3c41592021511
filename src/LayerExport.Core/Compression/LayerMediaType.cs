namespace LayerExport.Core.Compression;

/// <summary>The OCI media types and file-name suffixes of the three layer representations.</summary>
public static class LayerMediaType
{
    /// <summary>Uncompressed layer.</summary>
    public const string Tar = "application/vnd.oci.image.layer.v1.tar";

    /// <summary>gzip-compressed layer.</summary>
    public const string TarGzip = "application/vnd.oci.image.layer.v1.tar+gzip";

    /// <summary>zstd-compressed layer.</summary>
    public const string TarZstd = "application/vnd.oci.image.layer.v1.tar+zstd";

    /// <summary>The media type of <paramref name="compression"/>.</summary>
    public static string For(LayerCompression compression) => compression switch
    {
        LayerCompression.None => Tar,
        LayerCompression.Gzip => TarGzip,
        LayerCompression.Zstd => TarZstd,
        _ => throw new ArgumentOutOfRangeException(nameof(compression)),
    };

    /// <summary>The file-name suffix of <paramref name="compression"/>: <c>.tar</c>, <c>.tar.gz</c> or <c>.tar.zst</c>.</summary>
    public static string FileSuffix(LayerCompression compression) => compression switch
    {
        LayerCompression.None => ".tar",
        LayerCompression.Gzip => ".tar.gz",
        LayerCompression.Zstd => ".tar.zst",
        _ => throw new ArgumentOutOfRangeException(nameof(compression)),
    };

    /// <summary>The representation a media type names, if it names one.</summary>
    public static LayerCompression? Parse(string mediaType) => mediaType.ToLowerInvariant() switch
    {
        Tar => LayerCompression.None,
        TarGzip => LayerCompression.Gzip,
        TarZstd => LayerCompression.Zstd,
        _ => null,
    };
}
