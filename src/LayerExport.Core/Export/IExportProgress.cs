namespace LayerExport.Core.Export;

/// <summary>How far a running export got; readable after it fails, for the log.</summary>
public interface IExportProgress
{
    /// <summary>Bytes of tar written so far.</summary>
    long BytesWritten { get; }

    /// <summary>Entries written so far.</summary>
    long EntriesWritten { get; }
}
