using System.Net;
using IntegrationTests.Support;
using LayerExport.Core.Tests.Support;

namespace IntegrationTests;

/// <summary>
/// A file a layer's tar-split record has content for, missing from the unpacked layer or there with another size, is
/// found by the survey before the response starts: a problem naming the file, not a download that breaks off where the
/// file comes.
/// </summary>
/// <remarks>
/// Each Docker layer is named "a" so that its 70,000-byte <c>a.bin</c> comes first in the tar (GNU tar sorting by name),
/// more than the first flush of a body, and <c>etc/config.txt</c> after it: without the check, the response would have
/// started and could only be cut.
/// </remarks>
public sealed class RecordedFileMismatchTests : IAsyncLifetime
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("recorded-mismatch-");
    private ApiServer? _server;

    private ApiServer Server => _server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        await DockerDataRoot.AddLayerAsync(_root.FullName, "a", parent: null, "--format=gnu", "--sort=name");
        _server = ApiServer.Start(_root.FullName, settings: new Dictionary<string, string> { ["LayerStore:Layout"] = "docker" });
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        _root.Delete(recursive: true);
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("resized")]
    public async Task AFileTheRecordHasContentForThatIsNotOnDiskAsRecordedIsAProblemBeforeTheBody(string fault)
    {
        var file = Path.Combine(_root.FullName, "overlay2", DockerDataRoot.CacheId("a"), "diff", "etc", "config.txt");
        if (fault == "missing")
        {
            File.Delete(file);
        }
        else
        {
            await File.WriteAllTextAsync(file, "layer a, longer now\n");
        }

        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri($"/layers/{DockerDataRoot.ChainId("a")}/tar", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.Equal("urn:layer-export:problem:store-inconsistent", problem.GetProperty("type").GetString());
        var detail = problem.GetProperty("detail").GetString();
        Assert.StartsWith("The layer's files and its tar-split record disagree: ./etc/config.txt: ", detail, StringComparison.Ordinal);
        Assert.EndsWith(fault == "missing" ? "(config.txt: No such file or directory)." : "is 20 bytes on disk, the tar-split record says 8.", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AHeadRequestIsRefusedAsTheDownloadWouldBe()
    {
        File.Delete(Path.Combine(_root.FullName, "overlay2", DockerDataRoot.CacheId("a"), "diff", "etc", "config.txt"));
        using var client = Server.CreateClient();

        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri($"/layers/{DockerDataRoot.ChainId("a")}/tar", UriKind.Relative)));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.False(response.Headers.Contains("Docker-Content-Digest"));
    }

    // tar-split records a GNU sparse file with its holes filled in: without the check the whole body went out before
    // its digest failed it. Its PAX records may pass 64 KiB (large xattrs beside the sparse keys; here a comment).
    [Theory]
    [InlineData("GET", false)]
    [InlineData("HEAD", false)]
    [InlineData("GET", true)]
    public async Task AGnuSparseFileTheRecordCannotRebuildIsAProblemBeforeTheBody(string method, bool bigRecords)
    {
        string[] comment = bigRecords ? ["--pax-option=comment:=" + new string('c', 70_000)] : [];
        await DockerDataRoot.AddLayerAsync(_root.FullName, "s", parent: null, ["--format=posix", "--sparse", "--sort=name", .. comment]);
        using var client = Server.CreateClient();

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), new Uri($"/layers/{DockerDataRoot.ChainId("s")}/tar", UriKind.Relative)));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        if (method == "GET")
        {
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
            Assert.Equal("urn:layer-export:problem:store-inconsistent", problem.GetProperty("type").GetString());
            Assert.Matches(@"^The tar-split record, line \d+: \./holes\.bin is a GNU sparse file, which tar-split records with its holes filled in: ", problem.GetProperty("detail").GetString());
        }
    }
}
