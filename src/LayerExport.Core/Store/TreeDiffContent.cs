using LayerExport.Core.Native;
using LayerExport.Core.Reader;

namespace LayerExport.Core.Store;

/// <summary>An opened full root file system and its parent's, exported as the difference between the two.</summary>
internal sealed class TreeDiffContent(FileDescriptor tree, FileDescriptor? parentTree) : ILayerContent
{
    /// <inheritdoc />
    public ILayerEntryReader CreateReader(CancellationToken cancellationToken) => new TreeDiffReader(tree, parentTree, openContent: true, cancellationToken);

    /// <inheritdoc />
    public ILayerEntryReader CreateMetadataReader(CancellationToken cancellationToken) => new TreeDiffReader(tree, parentTree, openContent: false, cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        tree.Dispose();
        parentTree?.Dispose();
    }
}
