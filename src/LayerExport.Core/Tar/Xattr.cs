namespace LayerExport.Core.Tar;

/// <summary>One extended attribute: raw name and raw value.</summary>
/// <param name="Name">The attribute name, e.g. <c>user.comment</c>.</param>
/// <param name="Value">The value bytes; need not be UTF-8.</param>
public sealed record Xattr(byte[] Name, byte[] Value);
