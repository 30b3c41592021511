namespace LayerExport.Core.TarSplit;

/// <summary>The kind of one tar-split record entry, with the numbers the record uses.</summary>
public enum TarSplitEntryType
{
    /// <summary>A file's content, read from the unpacked layer by its tar path.</summary>
    File = 1,

    /// <summary>Raw tar bytes kept verbatim: headers, padding, end blocks.</summary>
    Segment = 2,
}
