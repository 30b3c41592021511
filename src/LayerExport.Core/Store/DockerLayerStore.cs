using System.Text;
using System.Text.RegularExpressions;
using LayerExport.Core.Digest;
using LayerExport.Core.Native;
using LayerExport.Core.TarSplit;

namespace LayerExport.Core.Store;

/// <summary>The <c>docker</c> layout: Docker's data-root, its layer database and its overlay2 directories.</summary>
/// <remarks>
/// Layers are named by chain ID (<c>sha256:&lt;hex&gt;</c> or bare hex) under
/// <c>image/overlay2/layerdb/sha256/&lt;chain&gt;/</c>, which holds <c>parent</c>, <c>diff</c> (the diffID),
/// <c>cache-id</c> (the <c>overlay2/&lt;cache-id&gt;/diff</c> directory with the files) and
/// <c>tar-split.json.gz</c>. With the record present the export is the pulled tar itself, reassembled and
/// verified against the recorded diffID; without it the tar is generated from the files.
/// </remarks>
public sealed partial class DockerLayerStore : ILayerStore, IDisposable
{
    private readonly FileDescriptor _layerDb;
    private readonly bool _layerDbCountsLinks;
    private readonly FileDescriptor _overlay2;

    /// <summary>Opens the data-root at <paramref name="root"/> (e.g. <c>/var/lib/docker</c>).</summary>
    public DockerLayerStore(string root)
    {
        using var dataRoot = FileDescriptor.OpenDirectory(root);
        _layerDb = OpenPart(dataRoot, root, "image/overlay2/layerdb/sha256");
        try
        {
            _layerDbCountsLinks = StoreListing.CountsLinks(_layerDb);
            _overlay2 = OpenPart(dataRoot, root, "overlay2");
        }
        catch
        {
            _layerDb.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public LayerStoreLayout Layout => LayerStoreLayout.Docker;

    /// <inheritdoc />
    public LayerId ParseId(string? text)
    {
        var hex = text?.StartsWith("sha256:", StringComparison.Ordinal) == true ? text[7..] : text;
        return hex is not null && ChainIdRegex().IsMatch(hex) ? LayerId.Parse(hex) : throw new InvalidLayerIdException(text, "IDs are chain IDs, 64 lowercase hex digits, with or without 'sha256:'");
    }

    /// <inheritdoc />
    public IReadOnlyList<LayerSummary> List()
    {
        var layers = new List<LayerSummary>();
        foreach (var (name, _, _) in StoreListing.Read(_layerDb, "image/overlay2/layerdb/sha256"))
        {
            var text = Encoding.UTF8.GetString(name);
            if (!ChainIdRegex().IsMatch(text))
            {
                continue;
            }

            try
            {
                layers.Add(new LayerSummary(text, ReadParent(LayerId.Parse(text))?.Value));
            }
            catch (LayerStoreException e)
            {
                layers.Add(new LayerSummary(text, null, e.Message));
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
        for (var parent = ReadParent(id); parent is { } p; parent = ReadParentOf(p, chain.Count > 1 ? chain[^2] : id.Value))
        {
            if (!seen.Add(p.Value))
            {
                throw new LayerStoreCorruptException($"The parent chain of layer '{id}' loops back to '{p}'.");
            }

            chain.Add(p.Value);
        }

        return new LayerDescription(id.Value, chain, "docker");
    }

    /// <inheritdoc />
    public ILayerContent Open(LayerId id)
    {
        var layer = OpenLayer(id);
        FileDescriptor? diff = null;
        try
        {
            var cacheId = MetadataFile.ReadText(id, layer, "cache-id")
                ?? throw new LayerStoreCorruptException($"Layer '{id}' has no cache-id.");
            if (!CacheIdRegex().IsMatch(cacheId))
            {
                throw new LayerStoreCorruptException($"Layer '{id}': cache-id '{MetadataText.Quote(cacheId)}' is not a directory name.");
            }

            diff = StorePath.Open(_overlay2, $"{cacheId}/diff", id);
            var diffId = MetadataFile.ReadText(id, layer, "diff") is { } recorded ? ParseDigest(id, recorded) : (LayerDigest?)null;
            var record = RecordOf(id, layer);
            var tar = record ? new RecordedTar(diff, () => TarSplitRecord.OpenAt(layer, "tar-split.json.gz"u8), diffId) : null;
            return new OverlayDiffContent(diff, tar, layer);
        }
        catch
        {
            diff?.Dispose();
            layer.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _layerDb.Dispose();
        _overlay2.Dispose();
    }

    // A data-root lacking one of these is most often another layout's root, or Docker's with another storage driver.
    private static FileDescriptor OpenPart(FileDescriptor dataRoot, string root, string path)
    {
        try
        {
            return StorePath.Open(dataRoot, path);
        }
        catch (LayerStoreCorruptException e) when (e.InnerException is NativeIOException { IsNotFound: true })
        {
            throw new LayerStoreCorruptException($"{root} holds no {path}/: not the data-root of a Docker engine with the overlay2 storage driver.", e);
        }
    }

    private static bool RecordOf(LayerId id, FileDescriptor layer)
    {
        FileStatus status;
        try
        {
            status = layer.StatAt("tar-split.json.gz"u8);
        }
        catch (NativeIOException e) when (e.IsNotFound)
        {
            return false;
        }
        catch (NativeIOException e)
        {
            throw new LayerStoreCorruptException($"Layer '{id}': tar-split.json.gz cannot be read ({e.Reason}).", e);
        }

        return status.Type switch
        {
            Libc.S_IFREG => true,
            Libc.S_IFLNK => throw new LayerRefusedException($"Layer '{id}': tar-split.json.gz is a symbolic link; refused."),
            _ => throw new LayerStoreCorruptException($"Layer '{id}': tar-split.json.gz is not a regular file."),
        };
    }

    private LayerId? ReadParent(LayerId id)
    {
        using var layer = OpenLayer(id);
        return MetadataFile.ReadText(id, layer, "parent") is { Length: > 0 } parent ? ParseParent(id, parent) : null;
    }

    private LayerId? ReadParentOf(LayerId id, string child)
    {
        try
        {
            return ReadParent(id);
        }
        catch (LayerNotFoundException)
        {
            throw new LayerStoreCorruptException($"Layer '{child}' names parent '{id}', which is not in the layer database.");
        }
    }

    private LayerId ParseParent(LayerId id, string parent)
    {
        try
        {
            return ParseId(parent);
        }
        catch (InvalidLayerIdException)
        {
            throw new LayerStoreCorruptException($"Layer '{id}': parent '{MetadataText.Quote(parent)}' is not a chain ID.");
        }
    }

    private static LayerDigest ParseDigest(LayerId id, string digest) =>
        digest.StartsWith("sha256:", StringComparison.Ordinal) && ChainIdRegex().IsMatch(digest[7..])
            ? new LayerDigest(digest)
            : throw new LayerStoreCorruptException($"Layer '{id}': diff '{MetadataText.Quote(digest)}' is not a sha256 digest.");

    private FileDescriptor OpenLayer(LayerId id)
    {
        try
        {
            if (_layerDb.TryOpenDirectoryAt(Encoding.UTF8.GetBytes(id.Value), out var layer))
            {
                return layer!;
            }

            StoreListing.ThrowIfDeleted(_layerDb, "image/overlay2/layerdb/sha256", _layerDbCountsLinks);
            throw new LayerNotFoundException(id);
        }
        catch (NativeIOException e) when (e.IsSymlinkRefused)
        {
            throw new LayerRefusedException($"Layer '{id}': its layerdb entry is a symbolic link or not a directory; refused.");
        }
        catch (NativeIOException e) when (!e.IsTransient)
        {
            throw e.IsKeyNotLoaded
                ? StoreListing.Unsearchable("image/overlay2/layerdb/sha256", e)
                : new LayerStoreCorruptException($"Layer '{id}': its layerdb entry cannot be opened ({Libc.Describe(e.Errno)}).", e);
        }
    }

    [GeneratedRegex(@"\A[0-9a-f]{64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex ChainIdRegex();

    [GeneratedRegex(@"\A[0-9a-f]{64}(-init)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex CacheIdRegex();
}
