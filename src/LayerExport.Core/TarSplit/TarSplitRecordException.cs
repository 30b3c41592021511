namespace LayerExport.Core.TarSplit;

/// <summary>A tar-split record that cannot be read: not gzip, a malformed line, an impossible entry.</summary>
public sealed class TarSplitRecordException : IOException
{
    /// <summary>Creates the exception for <paramref name="lineNumber"/> (0 when it is about the record as a whole).</summary>
    public TarSplitRecordException(long lineNumber, string reason, Exception? inner = null)
        : base(lineNumber > 0 ? $"tar-split record, line {lineNumber}: {reason}" : $"tar-split record: {reason}", inner) =>
        LineNumber = lineNumber;

    /// <summary>The offending line, counting from 1; 0 when the problem is not one line's.</summary>
    public long LineNumber { get; }
}
