using System.Text.Json;

namespace LayerExport.Core.Store;

/// <summary>Reads <c>layerchain.json</c>: a JSON array of parent layer IDs or paths, nearest parent first, as moby and containerd write it.</summary>
/// <remarks>
/// moby writes full paths (<c>C:\ProgramData\docker\windowsfilter\&lt;id&gt;</c>); like hcsshim, which derives a
/// layer's identity from the last element of its path, the last element ('\' or '/' separated) is the parent's ID.
/// </remarks>
internal static class WindowsLayerChain
{
    /// <summary>The parent IDs, nearest first; empty for a base layer (no file, <c>null</c> or <c>[]</c>).</summary>
    public static List<LayerId> Parse(LayerId id, ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? json[3..] : json);
            using var document = JsonDocument.ParseValue(ref reader);

            // ParseValue stops after the value; anything but white space after it throws here.
            reader.Read();
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Null)
            {
                return [];
            }

            if (root.ValueKind != JsonValueKind.Array)
            {
                throw new LayerStoreCorruptException($"Layer '{id}': layerchain.json is not a JSON array.");
            }

            var chain = new List<LayerId>();
            foreach (var element in root.EnumerateArray())
            {
                var text = element.ValueKind == JsonValueKind.String ? Text(id, element, chain.Count) : null;
                var last = text?.TrimEnd('\\', '/').Split('\\', '/')[^1];
                if (!LayerId.TryParse(last, out var parent))
                {
                    throw new LayerStoreCorruptException($"Layer '{id}': layerchain.json names '{MetadataText.Quote(text ?? element.GetRawText())}', whose last path element is not a layer ID.");
                }

                chain.Add(parent);
            }

            return chain;
        }
        catch (JsonException e)
        {
            throw new LayerStoreCorruptException($"Layer '{id}': layerchain.json is not valid JSON ({MetadataText.DescribeJsonError(e)}).", e);
        }
    }

    // The parser lets a lone surrogate escape ("\ud800") or bytes that are not UTF-8 through; only decoding finds them.
    private static string Text(LayerId id, JsonElement element, int index)
    {
        try
        {
            return element.GetString() ?? "";
        }
        catch (InvalidOperationException e)
        {
            throw new LayerStoreCorruptException($"Layer '{id}': layerchain.json element {index} is not valid text (a lone surrogate escape, or bytes that are not UTF-8).", e);
        }
    }
}
