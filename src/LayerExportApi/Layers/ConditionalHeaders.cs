using LayerExport.Core.Digest;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace LayerExportApi.Layers;

/// <summary>The conditional headers <c>If-Match</c>, <c>If-None-Match</c> and <c>If-Range</c>: a malformed validator is a 400, never ignored silently.</summary>
internal static class ConditionalHeaders
{
    /// <summary>The problem for the first malformed conditional header, or null when they are absent or well formed.</summary>
    public static ProblemHttpResult? Malformed(HttpRequest request)
    {
        if (MalformedMatch(request) is { } malformed)
        {
            return malformed;
        }

        // If-Range holds one strong entity tag or an HTTP-date; this API only ever matches the former. Without a
        // range the server acts on (none, another unit, a HEAD) it means nothing and is ignored (RFC 9110, section 13.1.5).
        var ifRange = request.Headers.IfRange;
        if (!StringValues.IsNullOrEmpty(ifRange) && ByteRangeRequest.Applies(request)
            && (ifRange.Count != 1 || (!IsEntityTag(ifRange[0]!) && !HeaderUtilities.TryParseDate(ifRange[0], out _))))
        {
            return Problem("If-Range", "one entity tag or an HTTP-date");
        }

        return null;
    }

    /// <summary>The problem for a malformed <c>If-Match</c> or <c>If-None-Match</c>, or null: what a resource without ranges judges.</summary>
    public static ProblemHttpResult? MalformedMatch(HttpRequest request)
    {
        var ifMatch = request.Headers.IfMatch;
        if (!StringValues.IsNullOrEmpty(ifMatch) && !IsEntityTagList(ifMatch))
        {
            return Problem("If-Match", "a list of entity tags such as '\"sha256:…\"', or '*'");
        }

        var ifNoneMatch = request.Headers.IfNoneMatch;
        if (!StringValues.IsNullOrEmpty(ifNoneMatch) && !IsEntityTagList(ifNoneMatch))
        {
            return Problem("If-None-Match", "a list of entity tags such as '\"sha256:…\"', or '*'");
        }

        return null;
    }

    /// <summary>
    /// <paramref name="ok"/>, unless the preconditions of a resource that has no entity tag say otherwise: any tag in
    /// <c>If-Match</c> fails it (412), <c>If-None-Match: *</c> finds it there (304).
    /// </summary>
    /// <remarks>Evaluated once the resource is found, as RFC 9110 (section 13.2.1) orders: a 404 or 400 goes first.</remarks>
    public static Results<Ok<T>, StatusCodeHttpResult, ProblemHttpResult> Untagged<T>(HttpRequest request, Ok<T> ok)
    {
        if (!IfMatchHolds(request, etag: null))
        {
            return TypedResults.Problem(
                detail: "If-Match names an entity tag, and this resource has none: only '*' holds.",
                statusCode: StatusCodes.Status412PreconditionFailed,
                title: "Precondition failed",
                type: "urn:layer-export:problem:precondition-failed");
        }

        return IsNotModified(request, etag: null) ? TypedResults.StatusCode(StatusCodes.Status304NotModified) : ok;
    }

    /// <summary>True when <c>If-None-Match</c> names the representation: <c>*</c> (the layer exists by now), or its tag by weak comparison.</summary>
    public static bool IsNotModified(HttpRequest request, EntityTagHeaderValue? etag) =>
        request.GetTypedHeaders().IfNoneMatch.Any(candidate => candidate.Equals(EntityTagHeaderValue.Any) || (etag is not null && candidate.Compare(etag, useStrongComparison: false)));

    /// <summary>True without <c>If-Match</c>, or when it names the representation: <c>*</c>, or its tag by strong comparison.</summary>
    public static bool IfMatchHolds(HttpRequest request, EntityTagHeaderValue? etag)
    {
        var ifMatch = request.GetTypedHeaders().IfMatch;
        return ifMatch.Count == 0 || ifMatch.Any(candidate => candidate.Equals(EntityTagHeaderValue.Any) || (etag is not null && candidate.Compare(etag, useStrongComparison: true)));
    }

    /// <summary>Whether <c>If-Range</c> names a digest as a strong tag: one only the representation's digest can match, and so worth computing when not known.</summary>
    public static bool IfRangeNamesADigest(HttpRequest request) =>
        request.Headers.IfRange is { Count: 1 } ifRange && ifRange[0]!.Trim(' ', '\t') is var tag
        && IsEntityTag(tag) && tag[0] == '"' && LayerDigest.IsWellFormed(tag[1..^1]);

    // "*" alone, or a list of entity tags (RFC 9110, sections 13.1.1 and 13.1.2: "*" / #entity-tag).
    private static bool IsEntityTagList(StringValues values)
    {
        var text = string.Join(',', values.ToArray());
        if (text.AsSpan().Trim(" \t") is "*")
        {
            return true;
        }

        var i = 0;
        var tags = 0;
        while (true)
        {
            // A list's elements are separated by commas and optional white space, and may be empty (section 5.6.1).
            while (i < text.Length && text[i] is ' ' or '\t' or ',')
            {
                i++;
            }

            if (i == text.Length)
            {
                return tags > 0;
            }

            if (!TryReadEntityTag(text, ref i))
            {
                return false;
            }

            tags++;
            SkipWhiteSpace(text, ref i);
            if (i < text.Length && text[i] != ',')
            {
                return false;
            }
        }
    }

    private static bool IsEntityTag(string text)
    {
        var i = 0;
        SkipWhiteSpace(text, ref i);
        if (!TryReadEntityTag(text, ref i))
        {
            return false;
        }

        SkipWhiteSpace(text, ref i);
        return i == text.Length;
    }

    // entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text (RFC 9110, section 8.8.3), held
    // to the letter: the framework's parser also takes a lowercase "w/", white space after "W/", and any quoted
    // string, so that a tag with a space in it (an unpasted placeholder) would pass.
    private static bool TryReadEntityTag(string text, ref int i)
    {
        if (text.AsSpan(i).StartsWith("W/", StringComparison.Ordinal))
        {
            i += 2;
        }

        if (i >= text.Length || text[i] != '"')
        {
            return false;
        }

        var end = text.IndexOf('"', i + 1);
        if (end < 0 || text.AsSpan(i + 1, end - i - 1).ContainsAnyInRange('\u0000', '\u0020') || text.AsSpan(i + 1, end - i - 1).Contains('\u007f'))
        {
            return false;
        }

        i = end + 1;
        return true;
    }

    private static void SkipWhiteSpace(string text, ref int i)
    {
        while (i < text.Length && text[i] is ' ' or '\t')
        {
            i++;
        }
    }

    private static ProblemHttpResult Problem(string header, string expected) => TypedResults.Problem(
        detail: $"The {header} header is not {expected}.",
        statusCode: StatusCodes.Status400BadRequest,
        title: $"Malformed {header} header",
        type: $"urn:layer-export:problem:malformed-{header.ToLowerInvariant()}");
}
