namespace LayerExport.Core.Reader.Windows;

/// <summary>What an entry's backup stream puts into its tar entries, read the way go-winio's backuptar reads it.</summary>
internal sealed class BackupStreamContent
{
    /// <summary>Mode bits the streams add: <c>0100000</c> for a data stream, <c>0120000</c> for reparse data.</summary>
    public long ModeBits { get; set; }

    /// <summary>True when a reparse stream made the entry a symbolic link.</summary>
    public bool IsReparsePoint { get; set; }

    /// <summary>The reparse point's print name (UTF-8, backslashes kept).</summary>
    public byte[] LinkName { get; set; } = [];

    /// <summary>True once a mount-point (junction) reparse stream was seen.</summary>
    public bool IsMountPoint { get; set; }

    /// <summary>The security descriptor, when a security stream was seen in time for the header.</summary>
    public byte[]? SecurityDescriptor { get; set; }

    /// <summary>Extended attributes seen in time for the header, by name; a later one of the same name wins.</summary>
    public Dictionary<string, (byte[] Name, byte[] Value)> ExtendedAttributes { get; } = new(StringComparer.Ordinal);

    /// <summary>The entry's logical size: the data stream's size, or the end a sparse file's blocks name.</summary>
    public long Size { get; set; }

    /// <summary>The content, piece by piece; their lengths add up to what the entry's data is.</summary>
    public List<ContentSegment> Content { get; } = [];

    /// <summary>Alternate data streams that follow the data stream, in stream order.</summary>
    public List<AlternateDataStream> AlternateStreams { get; } = [];

    /// <summary>Bytes of content the entry carries.</summary>
    public long ContentLength => Content.Sum(static s => s.Length);
}
