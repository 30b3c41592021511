using LayerExport.Core.Native;
using LayerExport.Core.Store;

namespace LayerExport.Core.Reader.Windows;

/// <summary>An opened Windows layer directory, its kind and its deletions, validated before any byte is sent.</summary>
internal sealed class WindowsLayerContent(FileDescriptor layer, WindowsLayerKind kind, TombstoneList tombstones) : ILayerContent
{
    /// <inheritdoc />
    public ILayerEntryReader CreateReader(CancellationToken cancellationToken) => new WindowsLayerReader(layer, kind, tombstones, openContent: true, cancellationToken);

    /// <inheritdoc />
    public ILayerEntryReader CreateMetadataReader(CancellationToken cancellationToken) => new WindowsLayerReader(layer, kind, tombstones, openContent: false, cancellationToken);

    /// <inheritdoc />
    public void Dispose() => layer.Dispose();
}
