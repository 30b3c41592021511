using LayerExport.Core.Native;

namespace LayerExport.Core.Store;

/// <summary>The <c>snapshots</c> layout: <c>&lt;root&gt;/&lt;id&gt;/layer.json</c> names the parent, <c>&lt;root&gt;/&lt;id&gt;/fs/</c> is the layer's full root file system.</summary>
/// <remarks>
/// Each layer is a complete tree, as a copying snapshotter leaves it, so the export is computed: the
/// difference between the layer's tree and its direct parent's (a base layer exports its whole tree).
/// </remarks>
public sealed class SnapshotLayerStore(string root) : DirectoryLayerStore(root)
{
    private static readonly byte[] TreeName = "fs"u8.ToArray();

    /// <inheritdoc />
    public override LayerStoreLayout Layout => LayerStoreLayout.Snapshots;

    /// <inheritdoc />
    protected override string LayoutName => "snapshots";

    private protected override LayerRecord? ReadLayer(LayerId id, FileDescriptor layerDirectory) =>
        ReadMetadataFile(id, layerDirectory, "layer.json") is { } json ? new LayerRecord(LayerJson.ReadParent(id, json)) : null;

    private protected override ILayerContent OpenContent(LayerId id, LayerRecord record, FileDescriptor layerDirectory)
    {
        var tree = OpenTree(id, layerDirectory);
        try
        {
            if (record.Parent is not { } parent)
            {
                return new TreeDiffContent(tree, null);
            }

            using var parentDirectory = TryOpenLayerDirectory(parent)
                ?? throw new LayerStoreCorruptException($"Layer '{id}' names parent '{parent}', which is not in the store.");
            return new TreeDiffContent(tree, OpenTree(parent, parentDirectory));
        }
        catch
        {
            tree.Dispose();
            throw;
        }
    }

    private static FileDescriptor OpenTree(LayerId id, FileDescriptor layerDirectory)
    {
        try
        {
            return layerDirectory.OpenDirectoryAt(TreeName);
        }
        catch (NativeIOException e) when (e.IsSymlinkRefused)
        {
            throw new LayerRefusedException($"Layer '{id}': fs/ is a symbolic link or not a directory; refused.");
        }
        catch (NativeIOException e) when (e.IsNotFound)
        {
            throw new LayerStoreCorruptException($"Layer '{id}' has no fs/ directory.", e);
        }
    }
}
