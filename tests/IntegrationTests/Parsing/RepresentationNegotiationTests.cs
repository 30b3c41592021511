using LayerExport.Core.Compression;
using LayerExportApi.Layers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace IntegrationTests.Parsing;

/// <summary>?compression= names the representation; otherwise Accept's most specific media range decides (RFC 9110, section 12.5.1).</summary>
public sealed class RepresentationNegotiationTests
{
    private const string Tar = "application/vnd.oci.image.layer.v1.tar";
    private const string Gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    private const string Zstd = "application/vnd.oci.image.layer.v1.tar+zstd";

    [Theory]
    [InlineData("none", "none")]
    [InlineData("gzip", "gzip")]
    [InlineData("zstd", "zstd")]
    [InlineData("GZip", "gzip")]
    [InlineData("ZSTD", "zstd")]
    [InlineData("None", "none")]
    public void TheQueryNamesTheRepresentationInAnyLetterCase(string compression, string chosen) =>
        Assert.Equal(chosen, RepresentationNegotiation.Tag(Choose(compression, "")));

    [Theory]
    [InlineData("none", Zstd)]
    [InlineData("gzip", "text/html")]
    [InlineData("zstd", Tar + ";q=0")]
    public void TheQueryWinsOverAccept(string compression, string accept) =>
        Assert.Equal(compression, RepresentationNegotiation.Tag(Choose(compression, accept)));

    [Theory]
    [InlineData("")]
    [InlineData("brotli")]
    [InlineData("tar")]
    [InlineData("gzip ")]
    public void AnUnknownCompressionIsABadRequest(string compression)
    {
        Assert.Null(RepresentationNegotiation.Choose(compression, Accept(Gzip), out var problem));

        AssertProblem(StatusCodes.Status400BadRequest, "unknown-compression", "Unknown compression", problem);
        Assert.Equal($"compression '{compression}' is not one of none, gzip, zstd.", problem.ProblemDetails.Detail);
    }

    [Fact]
    public void ACompressionGivenTwiceIsABadRequestThatSaysToGiveItOnce()
    {
        // Two compression parameters arrive joined by a comma.
        Assert.Null(RepresentationNegotiation.Choose("gzip,zstd", [], out var problem));

        AssertProblem(StatusCodes.Status400BadRequest, "unknown-compression", "Unknown compression", problem);
        Assert.Contains("give it once", problem.ProblemDetails.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("*/*")]
    [InlineData("application/*")]
    [InlineData(Tar)]
    [InlineData("*/*, application/*")]
    public void WithoutAQueryOrAPreferenceThePlainTarIsChosen(string accept) =>
        Assert.Equal("none", RepresentationNegotiation.Tag(Choose(null, accept)));

    [Theory]
    [InlineData(Gzip, "gzip")]
    [InlineData(Zstd, "zstd")]
    [InlineData("APPLICATION/VND.OCI.IMAGE.LAYER.V1.TAR+ZSTD", "zstd")]
    [InlineData(Zstd + ", " + Gzip, "zstd")]
    [InlineData(Gzip + ", " + Zstd, "gzip")]
    [InlineData(Gzip + ";q=0.5, " + Zstd, "zstd")]
    [InlineData(Gzip + ";q=0.5, " + Zstd + ";q=0.6", "zstd")]
    [InlineData(Zstd + ";q=0.6, " + Gzip + ";q=1", "gzip")]
    [InlineData(Zstd + ";q=0.6, " + Gzip + ";q=1.0, " + Tar + ";q=0.9", "gzip")]
    [InlineData("text/html, " + Zstd + ";q=0.001", "zstd")]
    [InlineData("*/*;q=0.1, " + Gzip, "gzip")]
    [InlineData("*/*;q=0, " + Gzip + ";q=0.2", "gzip")]
    [InlineData("application/*;q=0.1, " + Zstd + ";q=0.2", "zstd")]
    [InlineData(Tar + ";q=0, application/*", "gzip")]
    [InlineData(Tar + ";q=0, " + Gzip + ";q=0, */*", "zstd")]
    [InlineData("*/*, " + Tar + ";q=0.5", "gzip")]
    [InlineData("application/*;q=0.5, */*", "none")]
    [InlineData("application/*;q=0.5, */*;q=0.8, " + Gzip + ";q=0.1", "none")]
    public void AcceptPicksTheRepresentationOfHighestQualityFromItsMostSpecificRange(string accept, string chosen) =>
        Assert.Equal(chosen, RepresentationNegotiation.Tag(Choose(null, accept)));

    [Theory]
    [InlineData("text/html")]
    [InlineData("text/*")]
    [InlineData("*/*;q=0")]
    [InlineData("application/*;q=0")]
    [InlineData("application/*;q=0, */*")]
    [InlineData(Tar + ";q=0, " + Gzip + ";q=0, " + Zstd + ";q=0, */*")]
    [InlineData("application/json, " + Zstd + ";q=0")]
    public void AcceptThatAllowsNoRepresentationIsNotAcceptable(string accept)
    {
        Assert.Null(RepresentationNegotiation.Choose(null, Accept(accept), out var problem));

        AssertProblem(StatusCodes.Status406NotAcceptable, "not-acceptable", "Not acceptable", problem);

        // The detail names what the client could have asked for.
        Assert.Contains(Tar + ",", problem.ProblemDetails.Detail, StringComparison.Ordinal);
        Assert.Contains(Gzip, problem.ProblemDetails.Detail, StringComparison.Ordinal);
        Assert.Contains(Zstd, problem.ProblemDetails.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void TheNotAcceptableDetailRepeatsTheAcceptedTypes()
    {
        Assert.Null(RepresentationNegotiation.Choose(null, Accept("text/html, text/plain"), out var problem));

        // The client sees the media ranges as the server read them.
        AssertProblem(StatusCodes.Status406NotAcceptable, "not-acceptable", "Not acceptable", problem);
        Assert.StartsWith("None of the accepted types [text/html, text/plain] is a representation of this layer: ", problem.ProblemDetails.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData(Gzip, 1)]
    [InlineData(Gzip + ";q=0, " + Zstd + ";q=1, */*;q=0.5", 3)]
    [InlineData(Gzip + ";Q=0.5", 1)]
    [InlineData(Gzip + ";q=0.125, " + Zstd + ";q=1.000, " + Tar + ";q=0.", 3)]
    [InlineData(Gzip + ", , " + Zstd + ",", 2)]
    public void AWellFormedAcceptIsItsMediaRanges(string accept, int count) =>
        Assert.Equal(count, RepresentationNegotiation.ParseAccept(accept)?.Count);

    [Fact]
    public void NoAcceptIsNoMediaRange() => Assert.Empty(RepresentationNegotiation.ParseAccept(StringValues.Empty)!);

    [Theory]
    [InlineData("/")]
    [InlineData(";;;")]
    [InlineData("no-slash")]
    [InlineData(Gzip + ";q=abc")]
    [InlineData(Gzip + ";Q=abc")]
    [InlineData(Gzip + ";q=1.5")]
    [InlineData(Gzip + ";q=2")]
    [InlineData(Zstd + ", " + Gzip + ";q=abc")]
    [InlineData(Gzip + ";q=0x1")]
    [InlineData(Gzip + ";q=0.5abc")]
    [InlineData(Gzip + ";q=1e0")]
    [InlineData(Gzip + ";q=0.0001")]
    [InlineData("text/html, no-slash")]
    [InlineData(Gzip + ", 5")]
    public void AnAcceptThatIsNotAListOfMediaRangesWithQValuesIsMalformed(string accept) =>
        Assert.Null(RepresentationNegotiation.ParseAccept(accept));

    [Theory]
    [InlineData(LayerCompression.None, "none")]
    [InlineData(LayerCompression.Gzip, "gzip")]
    [InlineData(LayerCompression.Zstd, "zstd")]
    public void EachRepresentationHasItsMetricsTag(LayerCompression compression, string tag) =>
        Assert.Equal(tag, RepresentationNegotiation.Tag(compression));

    [Theory]
    [InlineData("gzip", "text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2", "gzip")]
    [InlineData("zstd", ";;;", "zstd")]
    [InlineData(null, Gzip, "gzip")]
    public void AnAcceptTheQueryOverridesIsNotConsultedEvenWhenMalformed(string? compression, string accept, string chosen)
    {
        // Java's HttpURLConnection sent that malformed default until JDK 19; the query decides without it.
        Assert.Equal(chosen, RepresentationNegotiation.Tag(RepresentationNegotiation.Negotiate(compression, accept, out var problem)!.Value));
        Assert.Null(problem);
    }

    [Theory]
    [InlineData(";;;")]
    [InlineData("text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2")]
    public void AMalformedAcceptThatWouldDecideIsABadRequest(string accept)
    {
        Assert.Null(RepresentationNegotiation.Negotiate(null, accept, out var problem));

        Assert.Equal(
            (StatusCodes.Status400BadRequest, "urn:layer-export:problem:malformed-accept"),
            (problem!.StatusCode, problem.ProblemDetails.Type));
    }

    [Fact]
    public void TheMalformedAcceptDetailSaysWhatAWeightMayBe()
    {
        // A weight of four decimals is a plausible slip; "not a list of media ranges" alone would not point at it.
        Assert.Null(RepresentationNegotiation.Negotiate(null, Gzip + ";q=0.5000", out var problem));

        AssertProblem(StatusCodes.Status400BadRequest, "malformed-accept", "Malformed Accept header", problem);
        Assert.Contains("q=0 to q=1, at most three decimals", problem.ProblemDetails.Detail, StringComparison.Ordinal);
    }

    private static IList<MediaTypeHeaderValue> Accept(string accept) =>
        RepresentationNegotiation.ParseAccept(accept) ?? throw new ArgumentException($"'{accept}' does not parse", nameof(accept));

    private static LayerCompression Choose(string? compression, string accept)
    {
        var chosen = RepresentationNegotiation.Choose(compression, Accept(accept), out var problem);
        Assert.Null(problem);
        return Assert.NotNull(chosen);
    }

    private static void AssertProblem(int status, string type, string title, [System.Diagnostics.CodeAnalysis.NotNull] ProblemHttpResult? problem)
    {
        Assert.NotNull(problem);
        Assert.Equal(status, problem.StatusCode);
        Assert.Equal("urn:layer-export:problem:" + type, problem.ProblemDetails.Type);
        Assert.Equal(title, problem.ProblemDetails.Title);
    }
}
