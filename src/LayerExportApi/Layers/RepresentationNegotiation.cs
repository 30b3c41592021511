using System.Text.RegularExpressions;
using LayerExport.Core.Compression;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace LayerExportApi.Layers;

/// <summary>Picks the representation from <c>?compression=</c> and the OCI media types in <c>Accept</c>.</summary>
/// <remarks>
/// The query parameter, when given, names the representation and <c>Accept</c> is not consulted (RFC 9110 lets a
/// server disregard it): Swagger UI, for one, sends the first media type of the document whatever the query says.
/// Otherwise each representation takes the quality of the most specific media range that names it (RFC 9110,
/// section 12.5.1); among equals, the one named first, and for a wildcard the plain tar first. Without either, the
/// plain tar.
/// </remarks>
internal static partial class RepresentationNegotiation
{
    /// <summary>The representation's name in metrics: <c>none</c>, <c>gzip</c> or <c>zstd</c>.</summary>
    public static string Tag(LayerCompression compression) => compression switch
    {
        LayerCompression.Gzip => "gzip",
        LayerCompression.Zstd => "zstd",
        _ => "none",
    };

    /// <summary>The representation a request asks for by <paramref name="compression"/> and <paramref name="accept"/>; null with the refusal when none fits.</summary>
    /// <remarks>A malformed <c>Accept</c> is refused only where it would be consulted: the query decides without it.</remarks>
    public static LayerCompression? Negotiate(string? compression, StringValues accept, out ProblemHttpResult? problem)
    {
        if ((compression is null ? ParseAccept(accept) : []) is not { } ranges)
        {
            problem = TypedResults.Problem(
                detail: "The Accept header is not a list of media ranges, such as 'application/vnd.oci.image.layer.v1.tar+gzip;q=0.5' (a weight is q=0 to q=1, at most three decimals).",
                statusCode: StatusCodes.Status400BadRequest,
                title: "Malformed Accept header",
                type: "urn:layer-export:problem:malformed-accept");
            return null;
        }

        return Choose(compression, ranges, out problem);
    }

    /// <summary>The media ranges of <c>Accept</c>; empty when there is none, null when it does not parse.</summary>
    /// <remarks>
    /// A request without Accept (or with an empty one) accepts any representation (RFC 9110, section 12.5.1);
    /// TryParseStrictList reports an empty header as unparsable, so that case is answered before it is asked. The
    /// strict parser, because the lenient one drops a member it cannot read and decides on the rest.
    /// </remarks>
    public static IList<MediaTypeHeaderValue>? ParseAccept(StringValues accept) =>
        StringValues.IsNullOrEmpty(accept) ? []
        : MediaTypeHeaderValue.TryParseStrictList(accept, out var parsed) && parsed.All(HasValidWeight) ? parsed
        : null;

    // The parser keeps "q=abc" as a parameter and reports no quality, which would count as 1, and reads a number from
    // the start of "q=0x1" or "q=1e0": RFC 9110's qvalue grammar makes such a weight, or one outside 0-1, a malformed
    // header instead.
    private static bool HasValidWeight(MediaTypeHeaderValue range) =>
        range.Parameters.Where(static p => p.Name.Equals("q", StringComparison.OrdinalIgnoreCase)).All(static p => QValue().IsMatch(p.Value.AsSpan()));

    [GeneratedRegex(@"\A(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)\z", RegexOptions.CultureInvariant)]
    private static partial Regex QValue();

    /// <summary>The chosen compression, or the problem that refuses the request.</summary>
    public static LayerCompression? Choose(string? compression, IList<MediaTypeHeaderValue> accept, out ProblemHttpResult? problem)
    {
        problem = null;
        LayerCompression? fromQuery = null;
        if (compression is not null)
        {
            fromQuery = compression.ToLowerInvariant() switch
            {
                "none" => LayerCompression.None,
                "gzip" => LayerCompression.Gzip,
                "zstd" => LayerCompression.Zstd,
                _ => null,
            };
            if (fromQuery is null)
            {
                problem = TypedResults.Problem(
                    // Two compression parameters arrive joined by a comma, as one value with a comma would.
                    detail: compression.Contains(',', StringComparison.Ordinal)
                        ? $"compression '{compression}' is not one of none, gzip, zstd: give it once, as one of them."
                        : $"compression '{compression}' is not one of none, gzip, zstd.",
                    statusCode: StatusCodes.Status400BadRequest,
                    title: "Unknown compression",
                    type: "urn:layer-export:problem:unknown-compression");
                return null;
            }
        }

        if (fromQuery is { } wanted)
        {
            return wanted;
        }

        if (accept.Count == 0)
        {
            return LayerCompression.None;
        }

        var acceptable = Acceptable(accept);
        return acceptable.Count > 0 ? acceptable[0] : NotAcceptable(accept, out problem);
    }

    // Representations Accept allows, most preferred first.
    private static List<LayerCompression> Acceptable(IList<MediaTypeHeaderValue> accept)
    {
        var ranked = new List<(double Quality, int Range, LayerCompression Compression)>();
        foreach (var compression in (LayerCompression[])[LayerCompression.None, LayerCompression.Gzip, LayerCompression.Zstd])
        {
            var (specificity, quality, range) = (-1, 0.0, 0);
            for (var i = 0; i < accept.Count; i++)
            {
                if (Specificity(accept[i], compression) is var matched && matched > specificity)
                {
                    (specificity, quality, range) = (matched, accept[i].Quality ?? 1.0, i);
                }
            }

            if (quality > 0)
            {
                ranked.Add((quality, range, compression));
            }
        }

        return ranked
            .OrderByDescending(static r => r.Quality).ThenBy(static r => r.Range).ThenBy(static r => r.Compression)
            .Select(static r => r.Compression)
            .ToList();
    }

    // How specifically a media range names a representation: 2 by its type, 1 by application/*, 0 by */*, -1 not at all.
    private static int Specificity(MediaTypeHeaderValue range, LayerCompression compression) =>
        range.MatchesAllTypes ? 0
        : range.MatchesAllSubTypes ? (range.Type.Equals("application", StringComparison.OrdinalIgnoreCase) ? 1 : -1)
        : LayerMediaType.Parse(range.MediaType.ToString()) == compression ? 2
        : -1;

    private static LayerCompression? NotAcceptable(IList<MediaTypeHeaderValue> accept, out ProblemHttpResult problem)
    {
        problem = TypedResults.Problem(
            detail: $"None of the accepted types [{string.Join(", ", accept)}] is a representation of this layer: "
                + $"{LayerMediaType.Tar}, {LayerMediaType.TarGzip} or {LayerMediaType.TarZstd}.",
            statusCode: StatusCodes.Status406NotAcceptable,
            title: "Not acceptable",
            type: "urn:layer-export:problem:not-acceptable");
        return null;
    }
}
