namespace LayerExport.Core.Reader.Windows;

/// <summary>One stream of a Win32 backup stream, located in the file that holds it.</summary>
/// <param name="Id">The stream ID (may be one no Windows version defines).</param>
/// <param name="Attributes">The stream attributes; bit 8 marks a sparse stream.</param>
/// <param name="Size">Bytes of the stream's payload (for a sparse block, without its 8-byte offset).</param>
/// <param name="Name">An alternate data stream's name, e.g. <c>:Zone.Identifier:$DATA</c>; empty for other streams.</param>
/// <param name="SparseOffset">Where a sparse block's bytes go in the file; 0 for other streams.</param>
/// <param name="PayloadOffset">Where the payload starts in the file holding the backup stream.</param>
internal readonly record struct BackupStreamHeader(BackupStreamId Id, uint Attributes, long Size, string Name, long SparseOffset, long PayloadOffset)
{
    /// <summary>The attribute bit of a sparse stream (STREAM_SPARSE_ATTRIBUTE).</summary>
    public const uint SparseAttribute = 8;

    /// <summary>True when the stream is marked sparse.</summary>
    public bool IsSparse => (Attributes & SparseAttribute) != 0;

    /// <summary>The stream ID as a number, for messages.</summary>
    public uint Number => (uint)Id;
}
