namespace LayerExport.Core.Reader;

/// <summary>The layer changed while it was being exported (a file grew, shrank or was replaced).</summary>
public sealed class LayerChangedException(string message) : IOException(message);
