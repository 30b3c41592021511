using System.Net;
using System.Text.Json;
using LayerExport.TestSupport;
using SidecarTests.Infrastructure;

namespace SidecarTests;

/// <summary>The representation comes from the OCI media types in Accept or from ?compression=; what cannot be served is refused with a problem.</summary>
public sealed class NegotiationTests : IDisposable
{
    private const string LayerId = "app";
    private readonly TemporaryDirectory _work = new("negotiation");
    private readonly ApiServer _server;
    private readonly HttpClient _client;

    public NegotiationTests()
    {
        var store = new NativeStoreBuilder(_work.Combine("store"));
        store.AddMixedLayer(LayerId);
        _server = new ApiServer(store.Root, _work.Combine("digests"));
        _client = _server.CreateClient();
    }

    [Theory]
    [InlineData("application/vnd.oci.image.layer.v1.tar+gzip", "gzip")]
    [InlineData("application/vnd.oci.image.layer.v1.tar+zstd", "zstd")]
    [InlineData("application/vnd.oci.image.layer.v1.tar", "none")]
    [InlineData("application/vnd.oci.image.layer.v1.tar+zstd;q=0.5, application/vnd.oci.image.layer.v1.tar+gzip", "gzip")]
    [InlineData("application/vnd.oci.image.layer.v1.tar;q=0, */*", "gzip")]
    [InlineData("application/vnd.oci.image.layer.v1.tar;q=0.1, */*", "gzip")]
    [InlineData("application/vnd.oci.image.layer.v1.tar+gzip;q=0.2, application/vnd.oci.image.layer.v1.tar;q=0.1, */*;q=0.5", "zstd")]
    [InlineData("*/*;q=0.5, application/vnd.oci.image.layer.v1.tar+zstd", "zstd")]
    public async Task AcceptSelectsTheRepresentation(string accept, string expected)
    {
        var representation = Representation.Named(expected);
        var negotiated = await _client.FetchAsync($"/layers/{LayerId}/tar", r => r.Headers.TryAddWithoutValidation("Accept", accept));

        Assert.Equal(HttpStatusCode.OK, negotiated.Status);
        Assert.Equal(representation.MediaType, negotiated.ContentType);
        Assert.Equal("attachment", negotiated.ContentDisposition?.DispositionType);
        Assert.Equal($"{LayerId}{representation.FileSuffix}", negotiated.ContentDisposition?.FileName);
        var byQuery = await _client.GetOkBytesAsync(representation.TarPath(LayerId));
        Assert.Equal(byQuery, negotiated.Body);
    }

    [Theory]
    [InlineData("gzip", new byte[] { 0x1f, 0x8b, 0x08 })]
    [InlineData("zstd", new byte[] { 0x28, 0xb5, 0x2f, 0xfd })]
    public async Task CompressionParameterGivesTheCompressedFormat(string compression, byte[] magic)
    {
        var representation = Representation.Named(compression);
        var response = await _client.FetchAsync(representation.TarPath(LayerId));

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(representation.MediaType, response.ContentType);
        Assert.Equal($"{LayerId}{representation.FileSuffix}", response.ContentDisposition?.FileName);
        Assert.Equal(magic, response.Body[..magic.Length]);
    }

    [Fact]
    public async Task UnknownCompressionIsA400Problem()
    {
        var response = await _client.FetchAsync($"/layers/{LayerId}/tar?compression=brotli");
        AssertProblem(response, HttpStatusCode.BadRequest, "urn:layer-export:problem:unknown-compression");
    }

    [Fact]
    public async Task CompressionGivenTwiceIsA400ProblemThatAsksForOneValue()
    {
        var response = await _client.FetchAsync($"/layers/{LayerId}/tar?compression=gzip&compression=zstd");
        AssertProblem(response, HttpStatusCode.BadRequest, "urn:layer-export:problem:unknown-compression");
        Assert.Contains("compression 'gzip,zstd' is not one of none, gzip, zstd: give it once, as one of them.", System.Text.Encoding.UTF8.GetString(response.Body), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("application/vnd.oci.image.layer.v1.tar+gzip;q=abc")]
    [InlineData("application/vnd.oci.image.layer.v1.tar+gzip;q=2")]
    [InlineData("*/*;q=-1")]
    public async Task AnAcceptWeightThatIsNoQvalueIsA400Problem(string accept)
    {
        var response = await _client.FetchAsync($"/layers/{LayerId}/tar", r => r.Headers.TryAddWithoutValidation("Accept", accept));
        AssertProblem(response, HttpStatusCode.BadRequest, "urn:layer-export:problem:malformed-accept");
    }

    [Fact]
    public async Task UnknownCompressionOfADescriptorIsA400Problem()
    {
        var response = await _client.FetchAsync($"/layers/{LayerId}/descriptor?compression=brotli");
        AssertProblem(response, HttpStatusCode.BadRequest, "urn:layer-export:problem:unknown-compression");
    }

    [Theory]
    [InlineData("text/html")]
    [InlineData("application/vnd.oci.image.layer.v1.tar+gzip;q=0")]
    [InlineData("application/*;q=0, */*")]
    public async Task UnsatisfiableAcceptIsA406Problem(string accept)
    {
        var response = await _client.FetchAsync($"/layers/{LayerId}/tar", r => r.Headers.TryAddWithoutValidation("Accept", accept));
        AssertProblem(response, HttpStatusCode.NotAcceptable, "urn:layer-export:problem:not-acceptable");
    }

    [Fact]
    public async Task CompressionParameterWinsOverAccept()
    {
        // What Swagger UI sends: the document's first media type, whatever the query chose.
        var response = await _client.FetchAsync(
            Representation.Zstd.TarPath(LayerId),
            r => r.Headers.TryAddWithoutValidation("Accept", Representation.Tar.MediaType));

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(Representation.Zstd.MediaType, response.ContentType);
    }

    public void Dispose()
    {
        _client.Dispose();
        _server.Dispose();
        _work.Dispose();
    }

    private static void AssertProblem(Fetched response, HttpStatusCode status, string type)
    {
        Assert.Equal(status, response.Status);
        Assert.Equal("application/problem+json", response.MediaType);
        using var problem = JsonDocument.Parse(response.Body);
        Assert.Equal(type, problem.RootElement.GetProperty("type").GetString());
        Assert.Equal((int)status, problem.RootElement.GetProperty("status").GetInt32());
    }
}
