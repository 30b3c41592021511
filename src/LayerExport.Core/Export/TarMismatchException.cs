namespace LayerExport.Core.Export;

/// <summary>The tar made is not the one announced before it: another length or another digest.</summary>
public sealed class TarMismatchException(string message) : IOException(message);
