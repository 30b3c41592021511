namespace LayerExport.Core.Reader.Windows;

/// <summary>The stream kinds of a Win32 backup stream (<c>WIN32_STREAM_ID.dwStreamId</c>), as <c>BackupRead</c> writes them.</summary>
internal enum BackupStreamId : uint
{
    /// <summary>The unnamed data stream: the file's content.</summary>
    Data = 1,

    /// <summary>Extended attributes, as FILE_FULL_EA_INFORMATION entries.</summary>
    ExtendedAttributes = 2,

    /// <summary>The self-relative security descriptor.</summary>
    Security = 3,

    /// <summary>A named (alternate) data stream.</summary>
    AlternateData = 4,

    /// <summary>Hard-link information.</summary>
    Link = 5,

    /// <summary>Property data.</summary>
    PropertyData = 6,

    /// <summary>The object ID.</summary>
    ObjectId = 7,

    /// <summary>The reparse point (REPARSE_DATA_BUFFER).</summary>
    ReparseData = 8,

    /// <summary>One allocated range of a sparse file (an 8-byte offset, then its bytes); size 0 ends the list.</summary>
    SparseBlock = 9,

    /// <summary>Transactional NTFS data.</summary>
    TransactionalData = 10,
}
