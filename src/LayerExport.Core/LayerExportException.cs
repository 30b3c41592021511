namespace LayerExport.Core;

/// <summary>An entry of a layer could not be exported; says which one and why.</summary>
public sealed class LayerExportException(string path, string reason, Exception? inner = null)
    : Exception($"{MessageText.Escape(path)}: {MessageText.Escape(reason)}", inner)
{
    /// <summary>The tar path of the entry that failed.</summary>
    public string Path { get; } = path;

    /// <summary>Why it failed, without the path.</summary>
    public string Reason { get; } = reason;
}
