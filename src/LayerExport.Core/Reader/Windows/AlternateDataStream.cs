namespace LayerExport.Core.Reader.Windows;

/// <summary>An alternate data stream that becomes its own tar entry, <c>name:stream</c>, right after its file.</summary>
/// <param name="Suffix">What follows the file's name, e.g. <c>:Zone.Identifier</c> (the <c>:$DATA</c> type dropped), as UTF-8.</param>
/// <param name="Size">Bytes of the stream.</param>
/// <param name="FileOffset">Where they lie in the backup file.</param>
internal sealed record AlternateDataStream(byte[] Suffix, long Size, long FileOffset);
