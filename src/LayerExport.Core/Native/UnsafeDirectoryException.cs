namespace LayerExport.Core.Native;

/// <summary>A directory the server was to keep files in could be changed by another user; the message says which and how.</summary>
public sealed class UnsafeDirectoryException(string message) : IOException(message);
