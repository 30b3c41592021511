namespace LayerExport.Core.Tar;

/// <summary>A PAX record that is not one of the encoder's own (path, size, times, xattrs), such as <c>MSWINDOWS.fileattr</c>.</summary>
/// <param name="Key">The record key; never empty, without '=' or NUL.</param>
/// <param name="Value">The record value, raw bytes.</param>
public sealed record PaxRecord(byte[] Key, byte[] Value);
