using System.Text;
using LayerExport.Core.Native;

namespace LayerExport.Core.Store;

/// <summary>A store with one directory per layer under its root, each holding the layer's changes (by default in <c>diff/</c>).</summary>
/// <remarks>
/// The root is opened once; every layer is reached from that descriptor one component at a time without
/// following symlinks, so a symlinked layer directory, metadata file or <c>diff/</c> is refused rather than
/// followed out of the store. Layouts differ only in how a directory says it is a layer and who its parent is.
/// </remarks>
public abstract class DirectoryLayerStore : ILayerStore, IDisposable
{
    private readonly bool _rootCountsLinks;

    /// <summary>Opens the store at <paramref name="root"/>.</summary>
    protected DirectoryLayerStore(string root)
    {
        Root = FileDescriptor.OpenDirectory(root);
        _rootCountsLinks = StoreListing.CountsLinks(Root);
    }

    /// <inheritdoc />
    public abstract LayerStoreLayout Layout { get; }

    /// <summary>The layout's name as the API shows it.</summary>
    protected abstract string LayoutName { get; }

    /// <summary>The opened store root.</summary>
    private protected FileDescriptor Root { get; }

    /// <inheritdoc />
    public IReadOnlyList<LayerSummary> List()
    {
        var layers = new List<LayerSummary>();
        foreach (var (name, type, _) in StoreListing.Read(Root, "the root directory"))
        {
            // A symlink is listed too: opening it as a layer is refused, and its row says so, as a request would.
            if (type is not (Libc.DT_DIR or Libc.DT_UNKNOWN or Libc.DT_LNK) || !LayerId.TryParse(Encoding.UTF8.GetString(name), out var id))
            {
                continue;
            }

            // One broken layer is reported in its own row; it does not hide the others.
            try
            {
                using var layer = TryOpenLayerDirectory(id);
                if (layer is not null && ReadLayer(id, layer) is { } record)
                {
                    layers.Add(new LayerSummary(id.Value, record.Parent?.Value));
                }
            }
            catch (LayerStoreException e)
            {
                layers.Add(new LayerSummary(id.Value, null, e.Message));
            }
        }

        layers.Sort(static (a, b) => string.CompareOrdinal(a.Id, b.Id));
        return layers;
    }

    /// <inheritdoc />
    public LayerDescription Describe(LayerId id)
    {
        var chain = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal) { id.Value };
        var parent = ReadParent(id);
        var child = id;
        while (parent is { } p)
        {
            if (!seen.Add(p.Value))
            {
                throw new LayerStoreCorruptException($"The parent chain of layer '{id}' loops back to '{p}'.");
            }

            chain.Add(p.Value);
            try
            {
                parent = ReadParent(p);
            }
            catch (LayerNotFoundException)
            {
                throw new LayerStoreCorruptException($"Layer '{child}' names parent '{p}', which is not in the store.");
            }

            child = p;
        }

        return new LayerDescription(id.Value, chain, LayoutName);
    }

    /// <inheritdoc />
    public ILayerContent Open(LayerId id)
    {
        using var layer = OpenLayerDirectory(id);
        var record = ReadLayer(id, layer) ?? throw new LayerNotFoundException(id);
        return OpenContent(id, record, layer);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the root descriptor.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            Root.Dispose();
        }
    }

    /// <summary>Reads what the layer directory says of itself; null when the directory is not a layer.</summary>
    private protected abstract LayerRecord? ReadLayer(LayerId id, FileDescriptor layerDirectory);

    /// <summary>Opens what the export reads; by default the layer's <c>diff/</c> directory in overlay form.</summary>
    private protected virtual ILayerContent OpenContent(LayerId id, LayerRecord record, FileDescriptor layerDirectory)
    {
        try
        {
            return new OverlayDiffContent(layerDirectory.OpenDirectoryAt("diff"u8));
        }
        catch (NativeIOException e) when (e.IsSymlinkRefused)
        {
            throw new LayerRefusedException($"Layer '{id}': diff/ is a symbolic link or not a directory; refused.");
        }
        catch (NativeIOException e) when (e.IsNotFound)
        {
            throw new LayerStoreCorruptException($"Layer '{id}' has no diff/ directory.", e);
        }
    }

    /// <summary>Reads a small metadata file of a layer; null when it does not exist; a symlink is refused.</summary>
    private protected static byte[]? ReadMetadataFile(LayerId id, FileDescriptor layerDirectory, string name) =>
        MetadataFile.Read(id, layerDirectory, name);

    /// <summary>Opens a layer's directory, or null when no directory has that name.</summary>
    private protected FileDescriptor? TryOpenLayerDirectory(LayerId id)
    {
        var name = Encoding.UTF8.GetBytes(id.Value);
        try
        {
            if (Root.TryOpenDirectoryAt(name, out var layer))
            {
                return layer;
            }

            StoreListing.ThrowIfDeleted(Root, "the root directory", _rootCountsLinks);
            return null;
        }
        catch (NativeIOException e) when (e.IsSymlinkRefused)
        {
            // A name removed since its open was refused is as missing as one never there.
            if (Root.IsSymlinkAt(name))
            {
                throw new LayerRefusedException($"Layer '{id}' is a symbolic link in the store; refused.");
            }

            return null;
        }
        catch (NativeIOException e) when (!e.IsTransient)
        {
            // A root the server may no longer search fails every layer alike, as the listing does: the store is unreadable.
            if (e.Errno == Libc.EACCES && !RootSearchable(name))
            {
                throw new LayerStoreUnavailableException($"The layer store cannot be read: the root directory ({Libc.Describe(e.Errno)}).", e);
            }

            if (e.IsKeyNotLoaded)
            {
                throw StoreListing.Unsearchable("the root directory", e);
            }

            throw new LayerStoreCorruptException($"Layer '{id}': its directory cannot be opened ({Libc.Describe(e.Errno)}).", e);
        }
    }

    // Looking a name up needs search permission on the root only, where opening it needs read permission on the layer too.
    private bool RootSearchable(byte[] name)
    {
        try
        {
            Root.StatAt(name);
            return true;
        }
        catch (NativeIOException e)
        {
            return e.Errno != Libc.EACCES;
        }
    }

    private LayerId? ReadParent(LayerId id)
    {
        using var layer = OpenLayerDirectory(id);
        return (ReadLayer(id, layer) ?? throw new LayerNotFoundException(id)).Parent;
    }

    private FileDescriptor OpenLayerDirectory(LayerId id) => TryOpenLayerDirectory(id) ?? throw new LayerNotFoundException(id);

    /// <summary>What a layer directory says of itself.</summary>
    /// <param name="Parent">The direct parent, or null for a base layer.</param>
    private protected sealed record LayerRecord(LayerId? Parent);

}
