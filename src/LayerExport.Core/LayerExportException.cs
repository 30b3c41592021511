namespace LayerExport.Core;

/// <summary>An entry of a layer could not be exported; says which one and why.</summary>
public sealed class LayerExportException(string path, string reason, Exception? inner = null)
    : Exception($"{path}: {reason}", inner)
{
    /// <summary>The tar path of the entry that failed.</summary>
    public string Path { get; } = path;
}
