using System.Text;
using LayerExport.Core.Native;
using LayerExport.Core.Reader.Windows;

namespace LayerExport.Core.Store;

/// <summary>The <c>windows</c> layout: Windows container layers as hcsshim's exporter reads them, copied to a Linux disk.</summary>
/// <remarks>
/// <para>
/// <c>&lt;root&gt;/&lt;id&gt;/</c> is a layer when it holds <c>Files/</c>. <c>&lt;id&gt;/layerchain.json</c> lists the parents,
/// nearest first (IDs, or paths whose last element is the ID). A layer with parents is a legacy transport directory
/// (<c>Files/</c>, <c>Hives/</c>, <c>UtilityVM/</c>, <c>tombstones.txt</c>), exported as hcsshim's legacy reader does;
/// one without is a base layer (<c>Files/</c>, <c>UtilityVM/Files/</c>), exported as its base-layer reader does.
/// See docs/layouts/windows.md for the encoding of the files and the times.
/// </para>
/// <para>
/// Like the other layouts, every lookup is relative to an opened directory and never follows a symlink: a
/// symlinked layer directory, <c>Files</c>, <c>Hives</c>, <c>layerchain.json</c> or <c>tombstones.txt</c> is refused.
/// </para>
/// </remarks>
public sealed class WindowsLayerStore : ILayerStore, IDisposable
{
    private const string LayoutName = "windows";
    private const int MaxTombstonesBytes = 64 << 20;

    private readonly FileDescriptor _root;
    private readonly bool _rootCountsLinks;

    /// <summary>Opens the store at <paramref name="root"/>.</summary>
    public WindowsLayerStore(string root)
    {
        _root = FileDescriptor.OpenDirectory(root);
        _rootCountsLinks = StoreListing.CountsLinks(_root);
    }

    /// <inheritdoc />
    public LayerStoreLayout Layout => LayerStoreLayout.Windows;

    /// <inheritdoc />
    public IReadOnlyList<LayerSummary> List()
    {
        var layers = new List<LayerSummary>();
        foreach (var listed in StoreListing.Read(_root, "the root directory"))
        {
            if (listed.Type is not (Libc.DT_DIR or Libc.DT_UNKNOWN) || !LayerId.TryParse(Encoding.UTF8.GetString(listed.Name), out var id))
            {
                continue;
            }

            // One broken layer is reported in its own row; it does not hide the others.
            try
            {
                using var layer = TryOpenLayer(id);
                if (layer is not null)
                {
                    var chain = ReadChain(id, layer);
                    layers.Add(new LayerSummary(id.Value, chain.Count > 0 ? chain[0].Value : null));
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
    /// <remarks>Each parent must be in the store and record the rest of the chain as its own.</remarks>
    public LayerDescription Describe(LayerId id)
    {
        var chain = ReadChain(id);
        var seen = new HashSet<string>(StringComparer.Ordinal) { id.Value };
        for (var i = 0; i < chain.Count; i++)
        {
            var parent = chain[i];
            if (!seen.Add(parent.Value))
            {
                throw new LayerStoreCorruptException($"The parent chain of layer '{id}' names '{parent}' twice or loops back to the layer.");
            }

            List<LayerId> recorded;
            try
            {
                recorded = ReadChain(parent);
            }
            catch (LayerNotFoundException)
            {
                throw new LayerStoreCorruptException($"Layer '{id}' names parent '{parent}', which is not in the store.");
            }

            if (!recorded.SequenceEqual(chain.Skip(i + 1)))
            {
                throw new LayerStoreCorruptException(
                    $"Layer '{id}' records [{string.Join(", ", chain.Skip(i + 1))}] below '{parent}', but '{parent}' records [{string.Join(", ", recorded)}].");
            }
        }

        return new LayerDescription(id.Value, [.. chain.Select(static p => p.Value)], LayoutName);
    }

    /// <inheritdoc />
    public ILayerContent Open(LayerId id)
    {
        var layer = TryOpenLayer(id) ?? throw new LayerNotFoundException(id);
        try
        {
            if (ReadChain(id, layer).Count == 0)
            {
                return new WindowsLayerContent(layer, WindowsLayerKind.Base, TombstoneList.Empty);
            }

            var tombstones = ReadTombstones(id, layer);
            RequireSystemDelta(id, layer);
            return new WindowsLayerContent(layer, WindowsLayerKind.Transport, tombstones);
        }
        catch
        {
            layer.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _root.Dispose();

    private List<LayerId> ReadChain(LayerId id)
    {
        using var layer = TryOpenLayer(id) ?? throw new LayerNotFoundException(id);
        return ReadChain(id, layer);
    }

    private static List<LayerId> ReadChain(LayerId id, FileDescriptor layer) =>
        MetadataFile.Read(id, layer, "layerchain.json") is { } json ? WindowsLayerChain.Parse(id, json) : [];

    // The layer's directory when it holds Files/; null when there is no such layer.
    private FileDescriptor? TryOpenLayer(LayerId id)
    {
        var name = Encoding.UTF8.GetBytes(id.Value);
        FileDescriptor layer;
        try
        {
            if (!_root.TryOpenDirectoryAt(name, out var opened))
            {
                StoreListing.ThrowIfDeleted(_root, "the root directory", _rootCountsLinks);
                return null;
            }

            layer = opened!;
        }
        catch (NativeIOException e) when (e.IsSymlinkRefused)
        {
            return _root.IsSymlinkAt(name)
                ? throw new LayerRefusedException($"Layer '{id}' is a symbolic link in the store; refused.")
                : null;
        }
        catch (NativeIOException e) when (!e.IsTransient)
        {
            throw e.IsKeyNotLoaded
                ? StoreListing.Unsearchable("the root directory", e)
                : new LayerStoreCorruptException($"Layer '{id}': its directory cannot be opened ({Libc.Describe(e.Errno)}).", e);
        }

        try
        {
            var files = layer.StatAt(WindowsNames.Files);
            if (files.Type == Libc.S_IFLNK)
            {
                throw new LayerRefusedException($"Layer '{id}': Files is a symbolic link; refused.");
            }

            if (files.Type == Libc.S_IFDIR)
            {
                return layer;
            }
        }
        catch (NativeIOException e) when (e.IsNotFound)
        {
        }
        catch (NativeIOException e) when (e.IsKeyNotLoaded)
        {
            layer.Dispose();
            throw new LayerStoreCorruptException($"Layer '{id}': Files cannot be looked up ({e.Reason}).", e);
        }
        catch
        {
            layer.Dispose();
            throw;
        }

        layer.Dispose();
        return null;
    }

    private static TombstoneList ReadTombstones(LayerId id, FileDescriptor layer)
    {
        var bytes = MetadataFile.Read(id, layer, "tombstones.txt", MaxTombstonesBytes)
            ?? throw new WindowsLayerFormatException($"Layer '{id}' has parents, so it is a transport directory, but it has no tombstones.txt.");
        try
        {
            return TombstoneList.Parse(bytes);
        }
        catch (FormatException e)
        {
            throw new WindowsLayerFormatException($"Layer '{id}': {e.Message}.", e);
        }
    }

    // hcsshim gives Files and Hives the times of Hives/System_Delta: without it, no transport layer exports.
    private static void RequireSystemDelta(LayerId id, FileDescriptor layer)
    {
        FileStatus status;
        try
        {
            using var hives = layer.OpenDirectoryAt(WindowsNames.Hives);
            status = hives.StatAt(WindowsNames.SystemDelta);
        }
        catch (NativeIOException e) when (e.IsNotFound)
        {
            throw new WindowsLayerFormatException($"Layer '{id}' has no Hives/System_Delta, whose times Files and Hives take.", e);
        }
        catch (NativeIOException e) when (e.IsSymlinkRefused)
        {
            throw new LayerRefusedException($"Layer '{id}': Hives is a symbolic link or not a directory; refused.");
        }

        if (status.Type == Libc.S_IFLNK)
        {
            throw new LayerRefusedException($"Layer '{id}': Hives/System_Delta is a symbolic link; refused.");
        }

        if (status.Type != Libc.S_IFREG)
        {
            throw new WindowsLayerFormatException($"Layer '{id}': Hives/System_Delta is not a regular file.");
        }
    }
}
