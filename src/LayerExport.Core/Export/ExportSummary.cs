namespace LayerExport.Core.Export;

/// <summary>What one finished export wrote.</summary>
/// <param name="Bytes">Bytes of tar written.</param>
/// <param name="Entries">Tar entries written.</param>
public sealed record ExportSummary(long Bytes, long Entries);
