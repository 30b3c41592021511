using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace LayerExportApi.Layers;

/// <summary>What a request's <c>Range</c> and <c>If-Range</c> ask of a representation of known length.</summary>
internal readonly partial record struct ByteRangeRequest(ByteRangeKind Kind, long Start, long End)
{
    /// <summary>Bytes the range covers (End is inclusive).</summary>
    public long Length => End - Start + 1;

    /// <summary>Reads the request's range headers against a representation of <paramref name="size"/> bytes.</summary>
    /// <param name="request">The request.</param>
    /// <param name="size">The representation's length.</param>
    /// <param name="etag">The representation's strong ETag, when known; If-Range can only match it.</param>
    public static ByteRangeRequest From(HttpRequest request, long size, EntityTagHeaderValue? etag)
    {
        var header = request.Headers.Range;
        if (header.Count == 0)
        {
            return new(ByteRangeKind.Whole, 0, size - 1);
        }

        if (!IsBytesUnit(header.ToString()))
        {
            return new(ByteRangeKind.Whole, 0, size - 1);
        }

        // A validator that does not match (or cannot, without a known digest) means: send the whole, current body,
        // whatever the range says (RFC 9110, section 13.2.2, step 5), so it is judged before the range is.
        var ifRange = request.Headers.IfRange;
        if (ifRange.Count > 0 && (etag is null || !EntityTagHeaderValue.TryParse(ifRange.ToString(), out var condition) || !condition.Compare(etag, useStrongComparison: true)))
        {
            return new(ByteRangeKind.Whole, 0, size - 1);
        }

        if (!TryParseBytes(header.ToString(), out var range))
        {
            return new(ByteRangeKind.Malformed, 0, 0);
        }

        // Several ranges would need multipart/byteranges; the whole body is an allowed answer.
        if (range.Ranges.Count != 1)
        {
            return new(ByteRangeKind.Whole, 0, size - 1);
        }

        var only = range.Ranges.First();
        long start, end;
        if (only.From is { } from)
        {
            start = from;
            end = Math.Min(only.To ?? size - 1, size - 1);
        }
        else
        {
            var suffix = Math.Min(only.To ?? 0, size);
            start = size - suffix;
            end = size - 1;
        }

        return start >= size || start > end || size == 0
            ? new(ByteRangeKind.Unsatisfiable, 0, 0)
            : new(ByteRangeKind.Partial, start, end);
    }

    /// <summary>Whether the request has a range this server acts on: a <c>Range</c> in bytes on a GET (RFC 9110, section 14.2); only then does its <c>If-Range</c> count.</summary>
    public static bool Applies(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) && IsBytesUnit(request.Headers.Range.ToString());

    /// <summary>Whether the request's range is malformed whatever the representation's state: a <c>Range</c> in bytes on a GET that is no byte range, with no <c>If-Range</c> that could void it.</summary>
    public static bool IsMalformed(HttpRequest request) =>
        Applies(request) && request.Headers.IfRange.Count == 0 && !TryParseBytes(request.Headers.Range.ToString(), out _);

    /// <summary>The problem that answers a malformed range.</summary>
    public static ProblemHttpResult MalformedProblem() => TypedResults.Problem(
        detail: "The Range header is not a byte range such as 'bytes=0-1023'.",
        statusCode: StatusCodes.Status400BadRequest,
        title: "Malformed Range header",
        type: "urn:layer-export:problem:malformed-range");

    /// <summary>Whether the request asks for one well-formed byte range with no <c>If-Range</c>: what a body of any length answers with 206 or 416.</summary>
    public static bool AsksForOneRange(HttpRequest request) => request.Headers.IfRange.Count == 0 && NamesOneRange(request);

    /// <summary>Whether the request's <c>Range</c> is one well-formed byte range, whatever its <c>If-Range</c>.</summary>
    public static bool NamesOneRange(HttpRequest request)
    {
        var value = request.Headers.Range.ToString();
        return IsBytesUnit(value) && TryParseBytes(value, out var range) && range.Ranges.Count == 1;
    }

    // A range unit other than bytes must be ignored (RFC 9110, section 14.2).
    private static bool IsBytesUnit(string value)
    {
        var equals = value.IndexOf('=', StringComparison.Ordinal);
        return equals >= 0 && "bytes".Equals(value[..equals].Trim(), StringComparison.OrdinalIgnoreCase);
    }

    private static bool TryParseBytes(string value, [NotNullWhen(true)] out RangeHeaderValue? range) =>
        RangeHeaderValue.TryParse(Saturated(value), out range) && "bytes".Equals(range.Unit.Value, StringComparison.OrdinalIgnoreCase);

    // RFC 9110 puts no bound on a position's digits: one past any 64-bit length means "beyond any body" (a last-pos
    // or suffix that large covers the rest, a first-pos that large is unsatisfiable), so it saturates, not refused.
    private static string Saturated(string value) => Digits().Replace(
        value,
        static number => long.TryParse(number.ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out _)
            ? number.Value
            : long.MaxValue.ToString(CultureInfo.InvariantCulture));

    [GeneratedRegex("[0-9]+", RegexOptions.CultureInvariant)]
    private static partial Regex Digits();
}

/// <summary>The kinds of answer to a range request.</summary>
internal enum ByteRangeKind
{
    /// <summary>No usable range: 200 with the whole body.</summary>
    Whole,

    /// <summary>One satisfiable range: 206.</summary>
    Partial,

    /// <summary>A range beyond the end: 416.</summary>
    Unsatisfiable,

    /// <summary>A Range header that does not parse: 400.</summary>
    Malformed,
}
