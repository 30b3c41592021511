using LayerExportApi.Layers;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace IntegrationTests.Parsing;

/// <summary>Range and If-Range against a 100-byte representation, as RFC 9110, section 14, and the README's ranges section say.</summary>
public sealed class ByteRangeRequestTests
{
    private const long Size = 100;

    private static readonly EntityTagHeaderValue ETag = new("\"sha256:aa\"");

    [Theory]
    [InlineData("bytes=10-19", 10, 19)]
    [InlineData("bytes=5-5", 5, 5)]
    [InlineData("bytes=99-99", 99, 99)]
    [InlineData("bytes=0-99", 0, 99)]
    [InlineData("BYTES=10-19", 10, 19)]
    public void AClosedRangeIsServedAsAsked(string range, long start, long end) =>
        AssertPartial(start, end, ByteRangeRequest.From(Request(("Range", range)), Size, ETag));

    [Theory]
    [InlineData("bytes=10-", 10)]
    [InlineData("bytes=99-", 99)]
    [InlineData("bytes=10-100", 10)]
    [InlineData("bytes=10-500", 10)]
    [InlineData("bytes=10-99999999999999999999999", 10)]
    public void ARangeWithoutOrPastTheLastPositionEndsAtTheLastByte(string range, long start) =>
        AssertPartial(start, Size - 1, ByteRangeRequest.From(Request(("Range", range)), Size, ETag));

    [Theory]
    [InlineData("bytes=-10", 90)]
    [InlineData("bytes=-1", 99)]
    [InlineData("bytes=-100", 0)]
    [InlineData("bytes=-500", 0)]
    [InlineData("bytes=-99999999999999999999999", 0)]
    public void ASuffixRangeIsTheLastBytesOrTheWholeBodyWhenLonger(string range, long start) =>
        AssertPartial(start, Size - 1, ByteRangeRequest.From(Request(("Range", range)), Size, ETag));

    [Theory]
    [InlineData("bytes=100-", Size)]
    [InlineData("bytes=100-200", Size)]
    [InlineData("bytes=99999999999999999999999-", Size)]
    [InlineData("bytes=-0", Size)]
    [InlineData("bytes=0-", 0)]
    [InlineData("bytes=0-0", 0)]
    [InlineData("bytes=-5", 0)]
    public void ARangeWithNoByteOfTheBodyIsUnsatisfiable(string range, long size) =>
        Assert.Equal(ByteRangeKind.Unsatisfiable, ByteRangeRequest.From(Request(("Range", range)), size, ETag).Kind);

    [Theory]
    [InlineData("bytes=x-y")]
    [InlineData("bytes=")]
    [InlineData("bytes=5-1")]
    [InlineData("bytes=0-1,,,;")]
    public void ABytesRangeThatDoesNotParseIsMalformed(string range) =>
        Assert.Equal(ByteRangeKind.Malformed, ByteRangeRequest.From(Request(("Range", range)), Size, ETag).Kind);

    [Theory]
    [InlineData("items=0-1")]
    [InlineData("bytesx=0-1")]
    [InlineData("0-1")]
    [InlineData("bytes=0-1,5-6")]
    [InlineData("bytes=-1,0-0")]
    public void AnotherUnitOrSeveralRangesGetTheWholeBody(string range) =>
        AssertWhole(ByteRangeRequest.From(Request(("Range", range)), Size, ETag));

    [Fact]
    public void WithoutARangeTheWholeBodyIsServed() =>
        AssertWhole(ByteRangeRequest.From(Request(), Size, ETag));

    [Fact]
    public void AnIfRangeThatNamesTheStrongETagLetsTheRangeThrough() =>
        AssertPartial(10, 19, ByteRangeRequest.From(Request(("Range", "bytes=10-19"), ("If-Range", ETag.ToString())), Size, ETag));

    [Theory]
    [InlineData("\"sha256:bb\"")]
    [InlineData("W/\"sha256:aa\"")]
    [InlineData("Sat, 28 Nov 2026 03:49:58 GMT")]
    public void AnIfRangeThatDoesNotStronglyMatchGetsTheWholeBody(string ifRange) =>
        AssertWhole(ByteRangeRequest.From(Request(("Range", "bytes=10-19"), ("If-Range", ifRange)), Size, ETag));

    [Theory]
    [InlineData("bytes=5-1")]
    [InlineData("bytes=x-y")]
    public void AnIfRangeThatDoesNotMatchGetsTheWholeBodyWhateverTheBytesRangeSays(string range)
    {
        // RFC 9110, section 13.2.2, step 5: with If-Range false the Range is ignored, so it is not judged either.
        AssertWhole(ByteRangeRequest.From(Request(("Range", range), ("If-Range", "\"sha256:bb\"")), Size, ETag));
        AssertWhole(ByteRangeRequest.From(Request(("Range", range), ("If-Range", ETag.ToString())), Size, etag: null));
    }

    [Fact]
    public void AMalformedBytesRangeUnderAMatchingIfRangeIsMalformed() =>
        Assert.Equal(ByteRangeKind.Malformed, ByteRangeRequest.From(Request(("Range", "bytes=5-1"), ("If-Range", ETag.ToString())), Size, ETag).Kind);

    [Fact]
    public void AnIfRangeCannotMatchARepresentationWhoseETagIsNotKnown() =>
        Assert.Equal(ByteRangeKind.Whole, ByteRangeRequest.From(Request(("Range", "bytes=10-19"), ("If-Range", ETag.ToString())), Size, etag: null).Kind);

    [Fact]
    public void ARangeWithoutIfRangeNeedsNoETag() =>
        AssertPartial(10, 19, ByteRangeRequest.From(Request(("Range", "bytes=10-19")), Size, etag: null));

    [Theory]
    [InlineData(0, 0, 1)]
    [InlineData(10, 19, 10)]
    [InlineData(0, 99, 100)]
    public void ARangeCoversItsLastPosition(long start, long end, long length) =>
        Assert.Equal(length, new ByteRangeRequest(ByteRangeKind.Partial, start, end).Length);

    [Theory]
    [InlineData("bytes=0-9")]
    [InlineData("bytes=-5")]
    [InlineData("Bytes=99999999999999999999999-")]
    public void OneBytesRangeWithoutIfRangeAsksForOneRange(string range) =>
        Assert.True(ByteRangeRequest.AsksForOneRange(Request(("Range", range))));

    [Theory]
    [InlineData("")]
    [InlineData("items=0-9")]
    [InlineData("bytes=x")]
    [InlineData("bytes=0-1,5-6")]
    public void NoRangeAnotherUnitAMalformedOneOrSeveralAskForNoOneRange(string range) =>
        Assert.False(ByteRangeRequest.AsksForOneRange(range.Length == 0 ? Request() : Request(("Range", range))));

    [Fact]
    public void ARangeUnderIfRangeDoesNotAskForOneRange()
    {
        // Its answer depends on the body's ETag, which the caller does not know yet.
        Assert.False(ByteRangeRequest.AsksForOneRange(Request(("Range", "bytes=0-9"), ("If-Range", ETag.ToString()))));
    }

    private static HttpRequest Request(params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        foreach (var (name, value) in headers)
        {
            context.Request.Headers.Append(name, value);
        }

        return context.Request;
    }

    // A whole answer spans every byte, as the range that asked for all of them would.
    private static void AssertWhole(ByteRangeRequest range)
    {
        Assert.Equal(ByteRangeKind.Whole, range.Kind);
        Assert.Equal((0, Size - 1), (range.Start, range.End));
        Assert.Equal(Size, range.Length);
    }

    private static void AssertPartial(long start, long end, ByteRangeRequest range)
    {
        Assert.Equal(ByteRangeKind.Partial, range.Kind);
        Assert.Equal((start, end), (range.Start, range.End));
    }
}
