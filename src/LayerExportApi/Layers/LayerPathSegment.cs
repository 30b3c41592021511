using System.Globalization;
using System.Text;
using System.Text.Unicode;
using LayerExport.Core.Store;
using LayerExportApi.Hosting;

namespace LayerExportApi.Layers;

/// <summary>What the <c>{id}</c> segment of a layer path names: the segment as sent, percent-decoded once (RFC 3986).</summary>
/// <remarks>
/// Kestrel decodes every escape of a path but <c>%2F</c>, which would split a segment, and leaves one it cannot
/// decode as sent. So a route value holding <c>%</c> is ambiguous: <c>a%2Fb</c> was sent as <c>a%2Fb</c> (the name
/// <c>a/b</c>, as containers/storage allows) or as <c>a%252Fb</c> (the name <c>a%2Fb</c>). Only the request target
/// tells them apart.
/// </remarks>
internal static class LayerPathSegment
{
    /// <summary>The text the <c>{id}</c> segment of <paramref name="request"/> stands for, given its <paramref name="routeValue"/>.</summary>
    /// <exception cref="InvalidLayerIdException">
    /// The segment as sent holds a <c>%</c> that begins no escape of UTF-8 text, or the path holds a <c>.</c> or
    /// <c>..</c> segment, which leaves in doubt which segment as sent the route value came from.
    /// </exception>
    public static string Read(HttpRequest request, string routeValue) =>
        Resolve(request, routeValue, out var refusal) ?? throw refusal!;

    /// <summary>What <see cref="Read"/> gives, or <see langword="null"/> where it refuses the segment.</summary>
    public static string? TryRead(HttpRequest request, string routeValue) => Resolve(request, routeValue, out _);

    private static string? Resolve(HttpRequest request, string routeValue, out InvalidLayerIdException? refusal)
    {
        refusal = null;

        // Without a '%', nothing was left encoded and none was decoded: the route value is the decoded segment.
        if (!routeValue.Contains('%'))
        {
            return routeValue;
        }

        var path = RequestTarget.PathAsSent(request);
        var segments = path.Split('/');

        // Kestrel removes dot segments after decoding: with one, the route value's segment as sent cannot be told,
        // and "/layers/a%252Fb/../a%2Fb" would read as a%2Fb, which the path as resolved does not name.
        if (segments.Length < 3 || segments.Any(IsDotSegment))
        {
            refusal = new InvalidLayerIdException(routeValue, $"a layer segment holding '%' is read from the path as sent, and '{path}' has a '.' or '..' segment");
            return null;
        }

        // "", "layers", then the ID: the routes take no path base and no empty segment.
        var decoded = Decoded(segments[2]);
        if (decoded is null)
        {
            refusal = new InvalidLayerIdException(segments[2], "in a path, '%' begins the escape of a byte of UTF-8 text (a '%' in a name is %25, a '/' is %2F)");
        }

        return decoded;
    }

    private static bool IsDotSegment(string segment) =>
        segment.Replace("%2e", ".", StringComparison.OrdinalIgnoreCase) is "." or "..";

    private static string? Decoded(string segment)
    {
        var sent = Encoding.UTF8.GetBytes(segment);
        var bytes = new byte[sent.Length];
        var length = 0;
        for (var i = 0; i < sent.Length; i++)
        {
            if (sent[i] != '%')
            {
                bytes[length++] = sent[i];
            }
            else if (i + 2 < sent.Length && byte.TryParse(sent.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var escaped))
            {
                bytes[length++] = escaped;
                i += 2;
            }
            else
            {
                return null;
            }
        }

        return Utf8.IsValid(bytes.AsSpan(0, length)) ? Encoding.UTF8.GetString(bytes, 0, length) : null;
    }
}
