using System.Text;
using LayerExport.Core.Native;

namespace LayerExport.Core.Store;

/// <summary>The <c>overlay2</c> layout: Docker's graph-driver directory (<c>/var/lib/docker/overlay2</c>).</summary>
/// <remarks>
/// <c>&lt;root&gt;/&lt;id&gt;/diff</c> holds the layer; <c>&lt;id&gt;/link</c> its short name; <c>&lt;id&gt;/lower</c>
/// lists <c>l/&lt;short&gt;</c> for every lower layer, nearest first, joined by ':'. The <c>l/</c> symlinks are
/// never followed: a short name is resolved through the <c>link</c> files, so no link can lead outside the store.
/// </remarks>
public sealed class Overlay2LayerStore(string root) : DirectoryLayerStore(root)
{
    // Short name -> the layers whose link file holds it (one, unless the store is corrupt), and the root's status
    // when it was listed: a layer directory added, removed or renamed since changes it.
    private volatile ShortNameIndex? _index;

    /// <inheritdoc />
    public override LayerStoreLayout Layout => LayerStoreLayout.Overlay2;

    /// <inheritdoc />
    protected override string LayoutName => "overlay2";

    // Every overlay2 layer has a link file; other directories (l/, stray ones) are not layers.
    private protected override LayerRecord? ReadLayer(LayerId id, FileDescriptor layerDirectory)
    {
        if (ReadMetadataFile(id, layerDirectory, "link") is null)
        {
            return null;
        }

        if (ReadMetadataFile(id, layerDirectory, "lower") is not { } lower)
        {
            return new LayerRecord(null);
        }

        var nearest = Encoding.UTF8.GetString(lower).Trim().Split(':')[0];
        if (!nearest.StartsWith("l/", StringComparison.Ordinal) || nearest.Length == 2 || nearest.IndexOf('/', 2) >= 0)
        {
            throw new LayerStoreCorruptException($"Layer '{id}': lower names '{MetadataText.Quote(nearest)}', not l/<short name>.");
        }

        var shortName = nearest[2..];
        var status = Root.Stat();

        // The link count too: a layer directory added or removed within one tick of a coarse clock keeps the times.
        var root = $"{status.Identity}:{status.NLink}";
        if (_index is not { } index || index.Root != root || !index.Owners.TryGetValue(shortName, out var owners)
            || (owners is [var owner] && !HoldsLink(owner, shortName)))
        {
            // A name missing from a current index may be a link file written since its layer's directory was listed;
            // an owner that no longer holds it, a layer renamed or removed where the root's status did not tell.
            if (!IndexShortNames(root).Owners.TryGetValue(shortName, out owners))
            {
                throw new LayerStoreCorruptException($"Layer '{id}': its parent l/{MetadataText.Quote(shortName)} is the link of no layer in the store.");
            }
        }

        // Picking one would record an unrelated layer as the parent, and the chain check would then pass for it.
        return owners is [var parent]
            ? new LayerRecord(LayerId.Parse(parent))
            : throw new LayerStoreCorruptException($"Layer '{id}': its parent l/{shortName} is the link of more than one layer ({string.Join(", ", owners)}).");
    }

    // Short names never change for a layer; the index is rebuilt when the root's entries changed or a name is missing
    // from it. The root's status is taken before the listing, so a change during it makes the next lookup list again.
    private ShortNameIndex IndexShortNames(string root)
    {
        var index = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (name, type, _) in StoreListing.Read(Root, "the root directory"))
        {
            if (type is not (Libc.DT_DIR or Libc.DT_UNKNOWN) || !LayerId.TryParse(Encoding.UTF8.GetString(name), out var id))
            {
                continue;
            }

            // A broken layer is refused when it is asked for; it must not stop others from finding their parents.
            try
            {
                using var layer = TryOpenLayerDirectory(id);
                if (layer is not null && ReadMetadataFile(id, layer, "link") is { } link)
                {
                    var shortName = Encoding.UTF8.GetString(link).Trim();
                    if (!index.TryGetValue(shortName, out var owners))
                    {
                        index[shortName] = owners = [];
                    }

                    owners.Add(id.Value);
                }
            }
            catch (LayerStoreException)
            {
            }
        }

        var byShortName = new Dictionary<string, string[]>(index.Count, StringComparer.Ordinal);
        foreach (var (shortName, layers) in index)
        {
            layers.Sort(StringComparer.Ordinal);
            byShortName[shortName] = [.. layers];
        }

        return _index = new ShortNameIndex(root, byShortName);
    }

    // Whether the layer directory named owner is still there and its link file still holds shortName.
    private bool HoldsLink(string owner, string shortName)
    {
        try
        {
            var id = LayerId.Parse(owner);
            using var layer = TryOpenLayerDirectory(id);
            return layer is not null && ReadMetadataFile(id, layer, "link") is { } link && Encoding.UTF8.GetString(link).Trim() == shortName;
        }
        catch (LayerStoreException)
        {
            return false;
        }
    }

    private sealed record ShortNameIndex(string Root, Dictionary<string, string[]> Owners);
}
