namespace LayerExport.Core.Compression;

/// <summary>The compression of a layer representation.</summary>
public enum LayerCompression
{
    /// <summary>The plain tar.</summary>
    None,

    /// <summary>tar+gzip.</summary>
    Gzip,

    /// <summary>tar+zstd.</summary>
    Zstd,
}
