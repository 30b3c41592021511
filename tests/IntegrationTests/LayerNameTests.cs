using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using IntegrationTests.Support;
using LayerExport.Core.Store;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace IntegrationTests;

/// <summary>
/// A <c>containers-storage</c> layer asked for by a name from <c>layers.json</c> that holds <c>/</c> or <c>%</c>: its
/// path segment is the name percent-encoded (<c>%2F</c>, <c>%25</c>), decoded once from the request as sent.
/// </summary>
public sealed class LayerNameTests : IAsyncLifetime
{
    private const string Slashed = "registry.example/app:layer";

    private static readonly string Base = Id("base");
    private static readonly string Named = Id("named");
    private static readonly string Escaped = Id("escaped");

    private readonly string _root = Directory.CreateTempSubdirectory("layer-names-").FullName;
    private ApiServer? _server;

    private ApiServer Server => _server ?? throw new InvalidOperationException("not started");

    public Task InitializeAsync()
    {
        // Names of other layers as decoys: "a%2Fb" is a name of its own, never the spelling of "a/b".
        Layer(Base, "base.txt", parent: null, "base/layer", "..");
        Layer(Named, "named.txt", parent: Base, Slashed, "a/b", "100%");
        Layer(Escaped, "escaped.txt", parent: Base, "a%2Fb");
        _server = ApiServer.Start(_root, settings: new Dictionary<string, string> { ["LayerStore:Layout"] = "containers-storage" });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task ANameHoldingASlashIsReachedByItsPercentEncodedSegmentOnEveryEndpoint()
    {
        using var client = Server.CreateClient();
        var segment = Uri.EscapeDataString(Slashed);
        Assert.Equal("registry.example%2Fapp%3Alayer", segment);

        using var described = await client.GetAsync(new Uri($"/layers/{segment}", UriKind.Relative));
        using var tar = await client.GetAsync(new Uri($"/layers/{segment}/tar?parent=base%2Flayer", UriKind.Relative));
        using var byId = await client.GetAsync(new Uri($"/layers/{Named}/tar", UriKind.Relative));
        using var descriptor = await client.GetAsync(new Uri($"/layers/{segment}/descriptor?parent={Base}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, described.StatusCode);
        using var description = JsonDocument.Parse(await described.Content.ReadAsStringAsync());
        Assert.Equal(Named, description.RootElement.GetProperty("id").GetString());
        Assert.Equal([Base], description.RootElement.GetProperty("chain").EnumerateArray().Select(static e => e.GetString()));

        // What the server writes names the layer by its ID, never by the name asked for.
        Assert.Equal(HttpStatusCode.OK, tar.StatusCode);
        Assert.Equal(await byId.Content.ReadAsByteArrayAsync(), await tar.Content.ReadAsByteArrayAsync());
        Assert.Equal($"attachment; filename=\"{Named}.tar\"", tar.Content.Headers.ContentDisposition?.ToString());
        Assert.Equal(HttpStatusCode.OK, descriptor.StatusCode);
    }

    [Theory]
    [InlineData("/layers/a%2Fb", "named")]
    [InlineData("/layers/a%2fb", "named")]
    [InlineData("/layers/a%252Fb", "escaped")]
    [InlineData("/layers/100%25", "named")]
    [InlineData("/layers/base%2Flayer/", "base")]
    public async Task EachSegmentNamesOneLayerAsItDecodesOnce(string target, string layer)
    {
        var response = await RawHttp.SendAsync(Server.BaseAddress, "GET", target);

        Assert.True(response.Status == 200, $"{target}: {response.Status} {Encoding.UTF8.GetString(response.Body)}");
        using var description = JsonDocument.Parse(response.Body);
        Assert.Equal(Id(layer), description.RootElement.GetProperty("id").GetString());
    }

    // Without a '%', the route value is the segment as it decodes, whatever dot segment Kestrel removed before it.
    [Theory]
    [InlineData("/layers/x/../{0}")]
    [InlineData("/layers/./{0}/tar")]
    public async Task ASegmentWithoutPercentIsReadAsResolvedAfterADotSegment(string format)
    {
        var target = string.Format(CultureInfo.InvariantCulture, format, Named);

        var response = await RawHttp.SendAsync(Server.BaseAddress, "GET", target);

        Assert.True(response.Status == 200, $"{target}: {response.Status} {Encoding.UTF8.GetString(response.Body)}");
    }

    [Fact]
    public async Task AnAbsoluteFormTargetIsReadFromItsPath()
    {
        var target = new Uri(Server.BaseAddress, "/layers/").ToString() + "a%252Fb/tar";

        var response = await RawHttp.SendAsync(Server.BaseAddress, "GET", target);

        Assert.True(response.Status == 200, $"{target}: {response.Status} {Encoding.UTF8.GetString(response.Body)}");
        Assert.Contains("escaped.txt", Encoding.ASCII.GetString(response.Body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OverHttp2TheSegmentIsReadFromThePathPseudoHeader()
    {
        // Cleartext HTTP/2 needs an endpoint of its own; Kestrel gives :path as the request target.
        using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder => builder
            .UseSetting("LayerStore:Root", _root)
            .UseSetting("LayerStore:Layout", "containers-storage")
            .UseSetting("DigestCache:Directory", ""));
        factory.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        factory.StartServer();
        using var client = factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/layers/a%252Fb", UriKind.Relative))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var description = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(Escaped, description.RootElement.GetProperty("id").GetString());
    }

    [Theory]
    // An escape of no UTF-8 text, and a '%' that begins no escape.
    [InlineData("/layers/a%FFb/tar", "'a%FFb' is not a layer ID: in a path, '%' begins the escape of a byte of UTF-8 text")]
    [InlineData("/layers/100%/tar", "'100%' is not a layer ID: in a path, '%' begins the escape")]
    [InlineData("/layers/a%2/descriptor", "'a%2' is not a layer ID: in a path, '%' begins the escape")]
    // Dot segments: which segment as sent the route value came from is in doubt ("a%252Fb/.." would pass for a%2Fb).
    [InlineData("/layers/x/../a%2Fb/tar", "'a%2Fb' is not a layer ID: a layer segment holding '%' is read from the path as sent, and '/layers/x/../a%2Fb/tar' has a '.' or '..' segment.")]
    [InlineData("/layers/a%252Fb/../a%2Fb/tar", "'a%2Fb' is not a layer ID: a layer segment holding '%' is read from the path as sent, and '/layers/a%252Fb/../a%2Fb/tar' has a '.' or '..' segment.")]
    [InlineData("/layers/./a%2Fb/tar", "'a%2Fb' is not a layer ID: a layer segment holding '%' is read from the path as sent, and '/layers/./a%2Fb/tar' has a '.' or '..' segment.")]
    [InlineData("/layers/a%252Fb/%2E%2e/a%2Fb", "'a%2Fb' is not a layer ID: a layer segment holding '%' is read from the path as sent, and '/layers/a%252Fb/%2E%2e/a%2Fb' has a '.' or '..' segment.")]
    // A name no layer has: no path is built from it, it is looked up in layers.json only.
    [InlineData("/layers/..%2F..%2Fetc%2Fpasswd/tar", "'../../etc/passwd' is not a layer ID: no layer in layers.json has that name")]
    [InlineData("/layers/registry.example%2Fgone/tar", "'registry.example/gone' is not a layer ID: no layer in layers.json has that name")]
    public async Task ASegmentThatNamesNothingUnambiguouslyIsAnInvalidLayerId(string target, string detail)
    {
        var response = await RawHttp.SendAsync(Server.BaseAddress, "GET", target);

        var problem = await ProblemAssert.IsProblemAsync(response.ToMessage(), HttpStatusCode.BadRequest);
        Assert.Equal("urn:layer-export:problem:invalid-layer-id", problem.GetProperty("type").GetString());
        Assert.StartsWith(detail, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AParentValueIsANameLookedUpAsTheQueryDecodesIt()
    {
        using var client = Server.CreateClient();

        using var slashed = await client.GetAsync(new Uri($"/layers/{Named}/tar?parent=base/layer", UriKind.Relative));
        using var dots = await client.GetAsync(new Uri($"/layers/{Named}/tar?parent=..", UriKind.Relative));
        using var unknown = await client.GetAsync(new Uri($"/layers/{Named}/tar?parent=base%2Fgone", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, slashed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, dots.StatusCode);
        var problem = await ProblemAssert.IsProblemAsync(unknown, HttpStatusCode.BadRequest);
        Assert.Equal($"The parent value 'base/gone' is not a layer ID: no layer in layers.json has that name, and IDs match {LayerId.Pattern}.", problem.GetProperty("detail").GetString());
    }

    private static string Id(string name) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("layer:" + name)));

    private void Layer(string id, string file, string? parent, params string[] names)
    {
        var diff = Directory.CreateDirectory(Path.Combine(_root, "overlay", id, "diff")).FullName;
        File.WriteAllText(Path.Combine(diff, file), file);
        var layersJson = Path.Combine(_root, "overlay-layers", "layers.json");
        Directory.CreateDirectory(Path.GetDirectoryName(layersJson)!);
        var layers = File.Exists(layersJson) ? JsonSerializer.Deserialize<List<Dictionary<string, object?>>>(File.ReadAllText(layersJson))! : [];
        layers.Add(new Dictionary<string, object?> { ["id"] = id, ["parent"] = parent, ["names"] = names });
        File.WriteAllText(layersJson, JsonSerializer.Serialize(layers));
    }
}
