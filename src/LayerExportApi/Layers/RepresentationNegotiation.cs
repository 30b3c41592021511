using LayerExport.Core.Compression;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace LayerExportApi.Layers;

/// <summary>Picks the representation from <c>?compression=</c> and the OCI media types in <c>Accept</c>.</summary>
/// <remarks>The query parameter wins when given; <c>Accept</c> must then still allow it. Without either, the plain tar.</remarks>
internal static class RepresentationNegotiation
{
    /// <summary>The representation's name in metrics: <c>none</c>, <c>gzip</c> or <c>zstd</c>.</summary>
    public static string Tag(LayerCompression compression) => compression switch
    {
        LayerCompression.Gzip => "gzip",
        LayerCompression.Zstd => "zstd",
        _ => "none",
    };

    /// <summary>The representation a request asks for, as a metrics tag; <c>invalid</c> when it asks for none that exists.</summary>
    public static string TagOf(HttpRequest request) =>
        ParseAccept(request.Headers.Accept) is { } accept && Choose(request.Query["compression"], accept, out _) is { } chosen ? Tag(chosen) : "invalid";

    /// <summary>The media ranges of <c>Accept</c>; empty when there is none, null when it does not parse.</summary>
    /// <remarks>
    /// A request without Accept (or with an empty one) accepts any representation (RFC 9110, section 12.5.1);
    /// TryParseList reports an empty header as unparsable, so that case is answered before it is asked.
    /// </remarks>
    public static IList<MediaTypeHeaderValue>? ParseAccept(StringValues accept) =>
        StringValues.IsNullOrEmpty(accept) ? []
        : MediaTypeHeaderValue.TryParseList(accept, out var parsed) ? parsed
        : null;

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
                    detail: $"compression '{compression}' is not one of none, gzip, zstd.",
                    statusCode: StatusCodes.Status400BadRequest,
                    title: "Unknown compression",
                    type: "urn:layer-export:problem:unknown-compression");
                return null;
            }
        }

        if (accept.Count == 0)
        {
            return fromQuery ?? LayerCompression.None;
        }

        var acceptable = Acceptable(accept);
        if (fromQuery is { } wanted)
        {
            return acceptable.Contains(wanted) ? wanted : NotAcceptable(accept, out problem);
        }

        return acceptable.Count > 0 ? acceptable[0] : NotAcceptable(accept, out problem);
    }

    // Representations Accept allows, most preferred first; a wildcard allows the plain tar first.
    private static List<LayerCompression> Acceptable(IList<MediaTypeHeaderValue> accept)
    {
        var ranked = new List<(double Quality, int Order, LayerCompression Compression)>();
        var order = 0;
        foreach (var range in accept.OrderByDescending(static r => r.Quality ?? 1.0))
        {
            var quality = range.Quality ?? 1.0;
            if (quality <= 0)
            {
                continue;
            }

            if (range.MatchesAllTypes || range.MatchesAllSubTypes && range.Type.Equals("application", StringComparison.OrdinalIgnoreCase))
            {
                foreach (var all in (LayerCompression[])[LayerCompression.None, LayerCompression.Gzip, LayerCompression.Zstd])
                {
                    ranked.Add((quality, order++, all));
                }
            }
            else if (LayerMediaType.Parse(range.MediaType.ToString()) is { } named)
            {
                ranked.Add((quality, order++, named));
            }
        }

        var refused = accept
            .Where(static r => r.Quality is <= 0)
            .Select(static r => LayerMediaType.Parse(r.MediaType.ToString()))
            .OfType<LayerCompression>()
            .ToHashSet();
        return ranked
            .OrderByDescending(static r => r.Quality).ThenBy(static r => r.Order)
            .Select(static r => r.Compression)
            .Where(c => !refused.Contains(c))
            .Distinct()
            .ToList();
    }

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
