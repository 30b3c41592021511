namespace LayerExport.Core.Export;

/// <summary>How far a running export got; readable after it fails, for the log.</summary>
public interface IExportProgress
{
    /// <summary>Tar offset reached so far: bytes written, plus for a byte range the tar bytes before it.</summary>
    long BytesWritten { get; }

    /// <summary>Entries written so far.</summary>
    long EntriesWritten { get; }

    /// <summary>Zero bytes that complete the last entry begun: 0 between entries, the padding after a file's last byte, null inside a header or a file's data.</summary>
    long? PaddingToEntryEnd { get; }

    /// <summary>True when the bytes written end after an entry's header and short of its content's end, where a cut tar fails every reader; false where that is not known.</summary>
    bool EndsInsideEntry { get; }
}
