namespace LayerExport.Core.Compression;

/// <summary>A zstd implementation (<c>Export:Zstd:Library</c>).</summary>
public enum ZstdLibrary
{
    /// <summary>The native libzstd where it loads and emits the managed port's bytes, else the managed port.</summary>
    Auto,

    /// <summary>The native libzstd shipped with the server; start-up fails where it cannot be used.</summary>
    Native,

    /// <summary>ZstdSharp.Port, the managed port of the same zstd version.</summary>
    Managed,
}
