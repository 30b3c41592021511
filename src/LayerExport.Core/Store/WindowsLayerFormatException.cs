namespace LayerExport.Core.Store;

/// <summary>A Windows layer breaks the transport format where the whole layer depends on it: its deletions list, its <c>Hives/System_Delta</c>.</summary>
public sealed class WindowsLayerFormatException(string message, Exception? inner = null) : LayerStoreException(message, inner);
