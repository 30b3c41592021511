using IntegrationTests.Support;
using LayerExportApi.Layers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace IntegrationTests.Parsing;

/// <summary>If-Match, If-None-Match and If-Range as RFC 9110, section 13.1, reads them: a malformed one is a 400, never ignored.</summary>
public sealed class ConditionalHeadersTests
{
    private static readonly EntityTagHeaderValue ETag = new("\"sha256:aa\"");

    // What a 200 says of the body that a 304 leaves out.
    private static readonly string[] BodyMetadata = ["Content-Type", "Content-Disposition", "Accept-Ranges", "Content-Length"];

    [Theory]
    [InlineData("If-Match", "\"sha256:aa\"")]
    [InlineData("If-Match", "*")]
    [InlineData("If-Match", "\"a\", W/\"b\"")]
    [InlineData("If-None-Match", "\"sha256:aa\"")]
    [InlineData("If-None-Match", "*")]
    [InlineData("If-None-Match", "W/\"a\", \"b\"")]
    public void AWellFormedEntityTagListIsNotMalformed(string header, string value) =>
        Assert.Null(ConditionalHeaders.Malformed(Request((header, value))));

    [Fact]
    public void NoConditionalHeaderIsNotMalformed() => Assert.Null(ConditionalHeaders.Malformed(Request()));

    [Theory]
    [InlineData("If-Match", "unquoted", "malformed-if-match")]
    [InlineData("If-Match", "\"a\", garbage", "malformed-if-match")]
    [InlineData("If-None-Match", "unquoted", "malformed-if-none-match")]
    [InlineData("If-None-Match", "W/\"x\", *, garbage", "malformed-if-none-match")]

    // Quoted, but with what no entity-tag holds (RFC 9110, section 8.8.3), such as an unpasted placeholder's spaces.
    [InlineData("If-None-Match", "\"sha256:<digest from the ETag header>\"", "malformed-if-none-match")]
    [InlineData("If-Match", "\"a b\"", "malformed-if-match")]
    [InlineData("If-Match", "\"a\\\"b\"", "malformed-if-match")]
    [InlineData("If-None-Match", "W/\"a\u007fb\"", "malformed-if-none-match")]
    [InlineData("If-None-Match", "\"a\", \"b\tc\"", "malformed-if-none-match")]
    public void AMalformedEntityTagListIsABadRequestNamingItsHeader(string header, string value, string problem) =>
        AssertProblem(problem, header, "entity tag", ConditionalHeaders.Malformed(Request((header, value))));

    [Fact]
    public void AMalformedIfMatchIsReportedBeforeAMalformedIfNoneMatch() =>
        AssertProblem("malformed-if-match", "If-Match", "entity tag", ConditionalHeaders.Malformed(Request(("If-Match", "x"), ("If-None-Match", "y"))));

    [Theory]
    [InlineData("\"sha256:aa\"")]
    [InlineData("W/\"sha256:aa\"")]
    [InlineData("Sat, 28 Nov 2026 03:49:58 GMT")]
    public void AnIfRangeOfOneEntityTagOrOneDateIsNotMalformed(string ifRange) =>
        Assert.Null(ConditionalHeaders.Malformed(Request(("Range", "bytes=0-9"), ("If-Range", ifRange))));

    [Theory]
    [InlineData("garbage")]
    [InlineData("\"a\", \"b\"")]
    [InlineData("\"a\" \"b\"")]
    [InlineData("\"a b\"")]
    public void AnIfRangeThatIsNeitherATagNorADateWithARangeIsABadRequest(string ifRange) =>
        AssertProblem("malformed-if-range", "If-Range", "HTTP-date", ConditionalHeaders.Malformed(Request(("Range", "bytes=0-9"), ("If-Range", ifRange))));

    [Fact]
    public void TwoIfRangeFieldsWithARangeAreABadRequest()
    {
        // Each field alone is a valid validator; RFC 9110 allows If-Range only once.
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Get;
        context.Request.Headers.Range = "bytes=0-9";
        context.Request.Headers.IfRange = new StringValues(["\"a\"", "\"b\""]);

        AssertProblem("malformed-if-range", "If-Range", "HTTP-date", ConditionalHeaders.Malformed(context.Request));
    }

    [Fact]
    public void AnIfRangeWithoutARangeIsIgnoredEvenWhenMalformed() =>
        Assert.Null(ConditionalHeaders.Malformed(Request(("If-Range", "garbage"))));

    [Theory]
    [InlineData("HEAD", "bytes=0-9")]
    [InlineData("GET", "lines=0-9")]
    public void AnIfRangeWithARangeThatIsIgnoredIsIgnoredEvenWhenMalformed(string method, string range) =>
        Assert.Null(ConditionalHeaders.Malformed(Request(method, ("Range", range), ("If-Range", "garbage"))));

    [Theory]
    [InlineData("\"sha256:aa\"")]
    [InlineData("W/\"sha256:aa\"")]
    [InlineData("\"other\", \"sha256:aa\"")]
    [InlineData("*")]
    public void IfNoneMatchNamingTheRepresentationByWeakComparisonIsNotModified(string ifNoneMatch) =>
        Assert.True(ConditionalHeaders.IsNotModified(Request(("If-None-Match", ifNoneMatch)), ETag));

    [Theory]
    [InlineData("\"other\"")]
    [InlineData("W/\"other\", \"sha256:bb\"")]
    public void IfNoneMatchNamingOtherTagsIsModified(string ifNoneMatch) =>
        Assert.False(ConditionalHeaders.IsNotModified(Request(("If-None-Match", ifNoneMatch)), ETag));

    [Fact]
    public void WithoutIfNoneMatchARepresentationIsModified() => Assert.False(ConditionalHeaders.IsNotModified(Request(), ETag));

    [Fact]
    public void AnUnknownETagMatchesOnlyAStarInIfNoneMatch()
    {
        // The layer exists by the time this is asked, so "*" holds whether or not its digest is known.
        Assert.True(ConditionalHeaders.IsNotModified(Request(("If-None-Match", "*")), etag: null));
        Assert.False(ConditionalHeaders.IsNotModified(Request(("If-None-Match", "\"sha256:aa\"")), etag: null));
    }

    [Theory]
    [InlineData("\"sha256:aa\"")]
    [InlineData("\"other\", \"sha256:aa\"")]
    [InlineData("*")]
    public void IfMatchNamingTheRepresentationByStrongComparisonHolds(string ifMatch) =>
        Assert.True(ConditionalHeaders.IfMatchHolds(Request(("If-Match", ifMatch)), ETag));

    [Theory]
    [InlineData("W/\"sha256:aa\"")]
    [InlineData("\"other\"")]
    [InlineData("\"other\", W/\"sha256:aa\"")]
    public void IfMatchNamingNoStrongTagOfTheRepresentationFails(string ifMatch) =>
        Assert.False(ConditionalHeaders.IfMatchHolds(Request(("If-Match", ifMatch)), ETag));

    [Fact]
    public void WithoutIfMatchThePreconditionHolds() => Assert.True(ConditionalHeaders.IfMatchHolds(Request(), etag: null));

    [Fact]
    public void AnUnknownETagMatchesOnlyAStarInIfMatch()
    {
        Assert.True(ConditionalHeaders.IfMatchHolds(Request(("If-Match", "*")), etag: null));
        Assert.False(ConditionalHeaders.IfMatchHolds(Request(("If-Match", "\"sha256:aa\"")), etag: null));
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    public async Task ANotModifiedCarriesTheValidatorsButNoMetadataOfTheBodyItLeavesOut(string method)
    {
        // RFC 9110, section 15.4.5: a 304 carries no representation metadata beyond the validators and Vary.
        using var store = TempLayerStore.Create().AddLayer("app").AddFile("app", "etc/app.conf", "app\n"u8.ToArray());
        await using var server = ApiServer.Start(store.Root);
        Assert.Equal(200, (await RawHttp.SendAsync(server.BaseAddress, "GET", "/layers/app/tar")).Status);
        var etag = (await RawHttp.SendAsync(server.BaseAddress, "HEAD", "/layers/app/tar")).Headers["ETag"];

        var notModified = await RawHttp.SendAsync(server.BaseAddress, method, "/layers/app/tar", [("If-None-Match", etag)]);

        Assert.Equal(304, notModified.Status);
        Assert.Equal(etag, notModified.Headers["ETag"]);
        Assert.Equal(etag.Trim('"'), notModified.Headers["Docker-Content-Digest"]);
        Assert.Equal("Accept", notModified.Headers["Vary"]);
        Assert.Empty(BodyMetadata.Intersect(notModified.Headers.Keys, StringComparer.OrdinalIgnoreCase));
    }

    private static HttpRequest Request(params (string Name, string Value)[] headers) => Request(HttpMethods.Get, headers);

    private static HttpRequest Request(string method, params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        foreach (var (name, value) in headers)
        {
            context.Request.Headers.Append(name, value);
        }

        return context.Request;
    }

    private static void AssertProblem(string type, string header, string expected, Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult? problem)
    {
        Assert.NotNull(problem);
        Assert.Equal(StatusCodes.Status400BadRequest, problem.StatusCode);
        Assert.Equal("urn:layer-export:problem:" + type, problem.ProblemDetails.Type);
        Assert.Equal($"Malformed {header} header", problem.ProblemDetails.Title);

        // The detail tells the client what a valid value looks like.
        Assert.Contains(header, problem.ProblemDetails.Detail, StringComparison.Ordinal);
        Assert.Contains(expected, problem.ProblemDetails.Detail, StringComparison.Ordinal);
    }
}
