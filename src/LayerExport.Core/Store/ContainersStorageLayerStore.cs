using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using LayerExport.Core.Digest;
using LayerExport.Core.Native;
using LayerExport.Core.TarSplit;

namespace LayerExport.Core.Store;

/// <summary>The <c>containers-storage</c> layout: Podman's, Buildah's and CRI-O's store (<c>/var/lib/containers/storage</c>).</summary>
/// <remarks>
/// <c>&lt;driver&gt;-layers/layers.json</c> lists every layer (ID, parent, names, <c>diff-digest</c>);
/// <c>&lt;driver&gt;-layers/&lt;id&gt;.tar-split.gz</c> keeps the framing of the tar a layer was made from; the files
/// are in <c>overlay/&lt;id&gt;/diff</c> (the overlay driver: a diff) or <c>vfs/dir/&lt;id&gt;</c> (the vfs driver: a
/// full root file system). With a record, the export is that tar, reassembled and verified against
/// <c>diff-digest</c>. Without one, an overlay diff is exported from its files, and a vfs layer as the difference
/// between its tree and its parent's.
/// </remarks>
public sealed partial class ContainersStorageLayerStore : ILayerStore, IDisposable
{
    private readonly FileDescriptor _root;
    private readonly FileDescriptor _layersDirectory;
    private readonly string _driver;
    private readonly Lock _layersLock = new();
    private (string Identity, Dictionary<string, StoredLayer> Layers)? _lastRead;

    private const int MaxLayersJsonBytes = 64 * 1024 * 1024;

    private static readonly LayerId LayersJsonId = LayerId.Parse("layers.json");

    /// <summary>Opens the store at <paramref name="root"/>; the driver is the one whose <c>layers.json</c> exists.</summary>
    public ContainersStorageLayerStore(string root)
    {
        _root = FileDescriptor.OpenDirectory(root);
        foreach (var driver in (string[])["overlay", "vfs"])
        {
            if (_root.TryOpenDirectoryAt(Encoding.UTF8.GetBytes($"{driver}-layers"), out var layers))
            {
                _driver = driver;
                _layersDirectory = layers!;
                return;
            }
        }

        _root.Dispose();
        throw new LayerStoreCorruptException($"{root} holds neither overlay-layers/ nor vfs-layers/: not a containers/storage root.");
    }

    /// <inheritdoc />
    public LayerStoreLayout Layout => LayerStoreLayout.ContainersStorage;

    /// <inheritdoc />
    public LayerId ParseId(string? text)
    {
        if (text is null || IdRegex().IsMatch(text))
        {
            return LayerId.Parse(text);
        }

        var named = ReadLayers().Values.Where(l => l.Names.Contains(text)).ToList();
        return named.Count switch
        {
            // A name may be any text (containers/storage checks none): the detail says that none matched, not that it cannot be one.
            0 => LayerId.TryParse(text, out var unnamed) ? unnamed : throw new InvalidLayerIdException(text, $"no layer in layers.json has that name, and IDs match {LayerId.Pattern}"),
            // The request was a valid name; an ID layers.json gives that is no ID is the store's fault, not the client's.
            1 => LayerId.TryParse(named[0].Id, out var id)
                ? id
                : throw new LayerStoreCorruptException($"layers.json gives the name '{text}' to a layer whose ID '{MetadataText.Quote(named[0].Id)}' is not a layer ID."),
            _ => throw new LayerStoreCorruptException(
                $"layers.json gives the name '{text}' to {named.Count} layers ({string.Join(", ", named.Select(static l => MetadataText.Quote(l.Id)))}); names are unique."),
        };
    }

    /// <inheritdoc />
    public IReadOnlyList<LayerSummary> List() =>
        [.. ReadLayers().Values
            .Select(static l => l.Problem is null ? new LayerSummary(l.Id, l.Parent) : new LayerSummary(l.Id, null, ProblemOf(l)))
            .OrderBy(static l => l.Id, StringComparer.Ordinal)];

    /// <inheritdoc />
    public LayerDescription Describe(LayerId id)
    {
        var layers = ReadLayers();
        var layer = Consistent(layers.GetValueOrDefault(id.Value) ?? throw new LayerNotFoundException(id));
        var chain = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal) { id.Value };
        for (var child = layer; child.Parent is { } parent; child = Consistent(layers[parent]))
        {
            if (!layers.ContainsKey(parent))
            {
                throw new LayerStoreCorruptException($"Layer '{MetadataText.Quote(child.Id)}' names parent '{MetadataText.Quote(parent)}', which is not in layers.json.");
            }

            if (!seen.Add(parent))
            {
                throw new LayerStoreCorruptException($"The parent chain of layer '{id}' loops back to '{MetadataText.Quote(parent)}'.");
            }

            chain.Add(parent);
        }

        return new LayerDescription(id.Value, chain, $"containers-storage/{_driver}");
    }

    /// <inheritdoc />
    public ILayerContent Open(LayerId id)
    {
        var layer = Consistent(ReadLayers().GetValueOrDefault(id.Value) ?? throw new LayerNotFoundException(id));
        if (!IdRegex().IsMatch(layer.Id))
        {
            throw new LayerStoreCorruptException($"Layer '{id}': its ID is not a directory name.");
        }

        var files = StorePath.Open(_root, _driver == "vfs" ? $"vfs/dir/{layer.Id}" : $"overlay/{layer.Id}/diff", id);
        try
        {
            var recordName = Encoding.UTF8.GetBytes($"{layer.Id}.tar-split.gz");
            if (HasRecord(id, recordName))
            {
                var recorded = new RecordedTar(files, () => TarSplitRecord.OpenAt(_layersDirectory, recordName), layer.DiffDigest, layer.DiffSize);
                return new OverlayDiffContent(files, recorded);
            }

            return _driver == "vfs" ? new TreeDiffContent(files, OpenParentTree(layer)) : new OverlayDiffContent(files);
        }
        catch
        {
            files.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _layersDirectory.Dispose();
        _root.Dispose();
    }

    // A vfs layer is a full copy of its parent's tree plus its changes; the parent's copy is what it is compared with.
    private FileDescriptor? OpenParentTree(StoredLayer layer)
    {
        if (layer.Parent is not { } parent)
        {
            return null;
        }

        return IdRegex().IsMatch(parent)
            ? StorePath.Open(_root, $"vfs/dir/{parent}", LayerId.Parse(layer.Id))
            : throw new LayerStoreCorruptException($"Layer '{layer.Id}' names parent '{MetadataText.Quote(parent)}', which is not a directory name.");
    }

    private bool HasRecord(LayerId id, byte[] recordName)
    {
        FileStatus status;
        try
        {
            status = _layersDirectory.StatAt(recordName);
        }
        catch (NativeIOException e) when (e.IsNotFound)
        {
            return false;
        }

        return status.Type == Libc.S_IFREG
            ? true
            : throw new LayerRefusedException($"Layer '{id}': its tar-split record is not a regular file; refused.");
    }

    // A deleted directory has no links left: the store is gone, which is no inconsistency within it.
    private LayerStoreException LayersJsonMissing() => _layersDirectory.Stat().NLink == 0
        ? new LayerStoreUnavailableException($"The layer store cannot be read: {_driver}-layers/ was deleted; restart the server once the store is back.")
        : new LayerStoreCorruptException($"{_driver}-layers/layers.json is missing.");

    private static StoredLayer Consistent(StoredLayer layer) =>
        layer.Problem is null ? layer : throw new LayerStoreCorruptException(ProblemOf(layer));

    private static string ProblemOf(StoredLayer layer) => $"Layer '{layer.Id}': {layer.Problem}";

    // layers.json changes whenever a layer is added or removed, so every question opens it afresh; it is parsed again
    // only when its file is another (containers/storage replaces it by a rename) or was written since, and a parse is
    // shared: a large file costs its parse once, not once per question and concurrent request.
    private Dictionary<string, StoredLayer> ReadLayers()
    {
        FileDescriptor? file;
        FileStatus status;
        try
        {
            file = MetadataFile.Open(LayersJsonId, _layersDirectory, "layers.json", out status, MaxLayersJsonBytes);
        }
        catch (LayerRefusedException)
        {
            // A symlink in its place is refused like any other, but it is the store's fault, not one layer's files'.
            throw new LayerStoreCorruptException($"{_driver}-layers/layers.json is a symbolic link; it is not followed.");
        }

        using var opened = file ?? throw LayersJsonMissing();
        lock (_layersLock)
        {
            if (_lastRead is { } last && last.Identity == status.Identity)
            {
                return last.Layers;
            }

            var layers = ParseLayers(MetadataFile.ReadAll(LayersJsonId, opened, status, "layers.json", MaxLayersJsonBytes));
            _lastRead = (status.Identity, layers);
            return layers;
        }
    }

    // A fault of one entry is kept as that layer's problem, so that it fails the requests that involve the layer and no others.
    private Dictionary<string, StoredLayer> ParseLayers(byte[] json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var layers = new Dictionary<string, StoredLayer>(StringComparer.Ordinal);
            foreach (var element in document.RootElement.EnumerateArray())
            {
                var id = element.GetProperty("id").GetString() ?? throw new LayerStoreCorruptException("layers.json has a layer without an ID.");
                // An empty, null or undecodable name names nothing: as "" it would answer an empty ID or parent in a request.
                var names = element.TryGetProperty("names", out var n) && n.ValueKind == JsonValueKind.Array
                    ? n.EnumerateArray().Select(static x => x.ValueKind == JsonValueKind.String ? TextOf(x) : x.GetString()).OfType<string>().Where(static name => name.Length > 0).ToHashSet(StringComparer.Ordinal)
                    : [];
                var (parent, parentProblem) = OptionalString(element, "parent");
                var (digestText, digestProblem) = OptionalString(element, "diff-digest");
                var digest = digestText is not null && Sha256DigestRegex().IsMatch(digestText) ? new LayerDigest(digestText) : (LayerDigest?)null;

                // A digest of another algorithm cannot be checked, so it is not announced; a malformed one is a fault.
                var problem = parentProblem ?? digestProblem
                    ?? (Incomplete(element) ? IncompleteProblem : null)
                    ?? (digestText is not null && digest is null && (digestText.StartsWith("sha256:", StringComparison.Ordinal) || !DigestRegex().IsMatch(digestText))
                        ? "its diff-digest in layers.json is not a digest (sha256:<64 lowercase hex digits>)"
                        : null);
                var layer = new StoredLayer(id, parent, names, digest, KnownLength(element, "diff-size"), problem);
                layers[id] = layers.ContainsKey(id) ? layer with { Problem = "layers.json lists it more than once" } : layer;
            }

            return layers;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            throw new LayerStoreCorruptException($"{_driver}-layers/layers.json cannot be read ({(e is JsonException malformed ? MetadataText.DescribeJsonError(malformed) : e.Message)}).", e);
        }
    }

    private const string IncompleteProblem =
        "layers.json flags it incomplete: containers/storage has not finished writing it (a pull or commit under way, or one cut short, which containers/storage deletes)";

    // containers/storage lists a layer flagged so before its files are in place, and deletes one it finds so on loading
    // the store: its files are only part of the layer. Only a true flag counts, as there.
    private static bool Incomplete(JsonElement element) =>
        element.TryGetProperty("flags", out var flags) && flags.ValueKind == JsonValueKind.Object
        && flags.TryGetProperty("incomplete", out var incomplete) && incomplete.ValueKind == JsonValueKind.True;

    // Absent, null and "" all mean "none", as containers/storage writes them; any other non-string is a fault.
    private static (string? Value, string? Problem) OptionalString(JsonElement element, string property) =>
        !element.TryGetProperty(property, out var value) ? (null, null) : value.ValueKind switch
        {
            JsonValueKind.Null => (null, null),
            JsonValueKind.String => TextOf(value) is { } text ? (text.Length > 0 ? text : null, null) : (null, $"its {property} in layers.json is not valid UTF-8 text"),
            _ => (null, $"its {property} in layers.json is not a string"),
        };

    // A string that parses yet makes no text (a lone surrogate such as \ud800, bytes that are not UTF-8): null.
    private static string? TextOf(JsonElement value)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    // containers/storage omits a length it does not know (omitempty) or writes -1 (partial pulls): only a positive
    // number is a length, and anything else only means "unknown", never a fault of the layer.
    private static long? KnownLength(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var length) && length > 0
            ? length
            : null;

    [GeneratedRegex(@"\A[0-9a-f]{64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex IdRegex();

    [GeneratedRegex(@"\Asha256:[0-9a-f]{64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Sha256DigestRegex();

    // The OCI image spec's digest grammar.
    [GeneratedRegex(@"\A[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+\z", RegexOptions.CultureInvariant)]
    private static partial Regex DigestRegex();

    /// <summary>One entry of layers.json.</summary>
    /// <param name="Id">The layer ID.</param>
    /// <param name="Parent">The parent's ID, or null for a base layer.</param>
    /// <param name="Names">Other names the layer is known by.</param>
    /// <param name="DiffDigest">The sha256 of the layer's original tar, when recorded.</param>
    /// <param name="DiffSize">The length of the layer's original tar, when recorded and known.</param>
    /// <param name="Problem">Why the entry cannot be trusted, or null.</param>
    private sealed record StoredLayer(string Id, string? Parent, HashSet<string> Names, LayerDigest? DiffDigest, long? DiffSize, string? Problem);
}
