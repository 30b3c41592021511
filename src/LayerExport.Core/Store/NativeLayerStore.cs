using System.Text;
using System.Text.Json;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;

namespace LayerExport.Core.Store;

/// <summary>The <c>native</c> layout: <c>&lt;root&gt;/&lt;id&gt;/layer.json</c> names the parent, <c>&lt;root&gt;/&lt;id&gt;/diff/</c> holds the changes.</summary>
/// <remarks>
/// The root is opened once; every layer is reached from that descriptor one component at a time without
/// following symlinks, so a symlinked layer directory, <c>layer.json</c> or <c>diff/</c> is refused rather than
/// followed out of the store.
/// </remarks>
public sealed class NativeLayerStore : ILayerStore, IDisposable
{
    private const int MaxMetadataBytes = 64 * 1024;

    private readonly FileDescriptor _root;

    /// <summary>Opens the store at <paramref name="root"/>.</summary>
    public NativeLayerStore(string root) => _root = FileDescriptor.OpenDirectory(root);

    /// <inheritdoc />
    public LayerStoreLayout Layout => LayerStoreLayout.Native;

    /// <inheritdoc />
    public IReadOnlyList<LayerSummary> List()
    {
        var layers = new List<LayerSummary>();
        foreach (var (name, type) in _root.ReadDirectory())
        {
            if (type is not (Libc.DT_DIR or Libc.DT_UNKNOWN) || !LayerId.TryParse(Encoding.UTF8.GetString(name), out var id))
            {
                continue;
            }

            // One broken layer is reported in its own row; it does not hide the others.
            try
            {
                using var layer = TryOpenLayerDirectory(id);
                if (layer is not null && ReadMetadata(id, layer) is { } metadata)
                {
                    layers.Add(new LayerSummary(id.Value, metadata.Parent?.Value));
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

        return new LayerDescription(id.Value, chain, "native");
    }

    /// <inheritdoc />
    public ILayerContent Open(LayerId id)
    {
        using var layer = OpenLayerDirectory(id);
        try
        {
            return new Content(layer.OpenDirectoryAt("diff"u8));
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

    /// <inheritdoc />
    public void Dispose() => _root.Dispose();

    private LayerId? ReadParent(LayerId id)
    {
        using var layer = OpenLayerDirectory(id);
        return (ReadMetadata(id, layer) ?? throw new LayerNotFoundException(id)).Parent;
    }

    private FileDescriptor OpenLayerDirectory(LayerId id) => TryOpenLayerDirectory(id) ?? throw new LayerNotFoundException(id);

    private FileDescriptor? TryOpenLayerDirectory(LayerId id)
    {
        var name = Encoding.UTF8.GetBytes(id.Value);
        try
        {
            return _root.TryOpenDirectoryAt(name, out var layer) ? layer : null;
        }
        catch (NativeIOException e) when (e.IsSymlinkRefused)
        {
            if (_root.StatAt(name).Type == Libc.S_IFLNK)
            {
                throw new LayerRefusedException($"Layer '{id}' is a symbolic link in the store; refused.");
            }

            return null;
        }
    }

    // A directory without layer.json is not a layer (null); a layer.json that cannot be trusted is an error.
    private static LayerMetadata? ReadMetadata(LayerId id, FileDescriptor layer)
    {
        FileDescriptor file;
        try
        {
            file = layer.OpenFileAt("layer.json"u8);
        }
        catch (NativeIOException e) when (e.IsNotFound)
        {
            return null;
        }
        catch (NativeIOException e) when (e.IsSymlinkRefused)
        {
            throw new LayerRefusedException($"Layer '{id}': layer.json is a symbolic link; refused.");
        }

        using (file)
        {
            var status = file.Stat();
            if (status.Type != Libc.S_IFREG || status.Size > MaxMetadataBytes)
            {
                throw new LayerStoreCorruptException($"Layer '{id}': layer.json is not a regular file of at most {MaxMetadataBytes} bytes.");
            }

            var buffer = new byte[status.Size];
            var length = 0;
            for (int n; length < buffer.Length && (n = file.ReadAt(buffer.AsSpan(length), length)) > 0;)
            {
                length += n;
            }

            return LayerMetadata.Parse(id, buffer.AsSpan(0, length));
        }
    }

    private sealed record LayerMetadata(LayerId? Parent)
    {
        public static LayerMetadata Parse(LayerId id, ReadOnlySpan<byte> json)
        {
            try
            {
                // Some editors start JSON with a byte-order mark; it carries no meaning here.
                var reader = new Utf8JsonReader(json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? json[3..] : json);
                using var document = JsonDocument.ParseValue(ref reader);
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw new LayerStoreCorruptException($"Layer '{id}': layer.json is not a JSON object.");
                }

                if (!document.RootElement.TryGetProperty("parent", out var parent) || parent.ValueKind == JsonValueKind.Null)
                {
                    return new LayerMetadata((LayerId?)null);
                }

                return parent.ValueKind == JsonValueKind.String && LayerId.TryParse(parent.GetString(), out var parentId)
                    ? new LayerMetadata(parentId)
                    : throw new LayerStoreCorruptException($"Layer '{id}': layer.json names a parent that is not a layer ID.");
            }
            catch (JsonException e)
            {
                throw new LayerStoreCorruptException($"Layer '{id}': layer.json is not valid JSON ({e.Message}).", e);
            }
        }
    }

    private sealed class Content(FileDescriptor diff) : ILayerContent
    {
        public ILayerEntryReader CreateReader() => new OverlayDiffReader(diff, openContent: true);

        public ILayerEntryReader CreateMetadataReader() => new OverlayDiffReader(diff, openContent: false);

        public void Dispose() => diff.Dispose();
    }
}
