using System.Text.Json;

namespace LayerExport.Core.Store;

/// <summary>Reads a <c>layer.json</c> file: <c>{"parent": "&lt;id&gt;"}</c>, no parent (or null) for a base layer.</summary>
internal static class LayerJson
{
    /// <summary>The parent the file names, or null for a base layer.</summary>
    /// <exception cref="LayerStoreCorruptException">The file is not such a JSON object.</exception>
    public static LayerId? ReadParent(LayerId id, ReadOnlySpan<byte> json)
    {
        try
        {
            // Some editors start JSON with a byte-order mark; it carries no meaning here.
            var reader = new Utf8JsonReader(json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? json[3..] : json);
            using var document = JsonDocument.ParseValue(ref reader);

            // ParseValue stops after the object; anything but white space after it throws here.
            reader.Read();
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new LayerStoreCorruptException($"Layer '{id}': layer.json is not a JSON object.");
            }

            if (!document.RootElement.TryGetProperty("parent", out var parent) || parent.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            return parent.ValueKind == JsonValueKind.String && LayerId.TryParse(TextOrNull(parent), out var parentId)
                ? parentId
                : throw new LayerStoreCorruptException($"Layer '{id}': layer.json names a parent that is not a layer ID.");
        }
        catch (JsonException e)
        {
            throw new LayerStoreCorruptException($"Layer '{id}': layer.json is not valid JSON ({MetadataText.DescribeJsonError(e)}).", e);
        }
    }

    // The reader accepts a lone surrogate escape and bytes that are not UTF-8 in a string; only reading it as text
    // throws. Neither can be a layer ID.
    private static string? TextOrNull(JsonElement value)
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
}
