using System.Text.Json;
using LayerExport.Core.Native;

namespace LayerExport.Core.Store;

/// <summary>The <c>native</c> layout: <c>&lt;root&gt;/&lt;id&gt;/layer.json</c> names the parent, <c>&lt;root&gt;/&lt;id&gt;/diff/</c> holds the changes.</summary>
public sealed class NativeLayerStore(string root) : DirectoryLayerStore(root)
{
    /// <inheritdoc />
    public override LayerStoreLayout Layout => LayerStoreLayout.Native;

    /// <inheritdoc />
    protected override string LayoutName => "native";

    // A directory without layer.json is not a layer; a layer.json that cannot be trusted is an error.
    private protected override LayerRecord? ReadLayer(LayerId id, FileDescriptor layerDirectory) =>
        ReadMetadataFile(id, layerDirectory, "layer.json") is { } json ? Parse(id, json) : null;

    private static LayerRecord Parse(LayerId id, ReadOnlySpan<byte> json)
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
                return new LayerRecord(null);
            }

            return parent.ValueKind == JsonValueKind.String && LayerId.TryParse(parent.GetString(), out var parentId)
                ? new LayerRecord(parentId)
                : throw new LayerStoreCorruptException($"Layer '{id}': layer.json names a parent that is not a layer ID.");
        }
        catch (JsonException e)
        {
            throw new LayerStoreCorruptException($"Layer '{id}': layer.json is not valid JSON ({e.Message}).", e);
        }
    }
}
