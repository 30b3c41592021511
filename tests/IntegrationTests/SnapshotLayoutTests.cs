using System.Net;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>The API over a <c>snapshots</c> store: full trees per layer, exported as differences to the parent.</summary>
public sealed class SnapshotLayoutTests : IAsyncLifetime
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("snapshot-store-");
    private ApiServer? _server;

    private ApiServer Server => _server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        await SnapshotTrees.AddBaseAndChildAsync(_root.FullName);

        _server = ApiServer.Start(_root.FullName, settings: new Dictionary<string, string> { ["LayerStore:Layout"] = "snapshots" });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _root.Delete(recursive: true);
    }

    [Fact]
    public async Task TheChildExportsItsDifferenceWithAnExactLengthAndAWhiteoutForTheDeletedFile()
    {
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri("/layers/child/tar?parent=base", UriKind.Relative));
        var body = await response.Content.ReadAsByteArrayAsync();
        var archive = Path.Combine(_root.FullName, "child.tar");
        await File.WriteAllBytesAsync(archive, body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body.LongLength, response.Content.Headers.ContentLength);
        Assert.Equal(["added", "etc/", "etc/.wh.removed"], await GnuTar.ListNamesAsync(archive));
    }

    [Fact]
    public async Task LayersAreListedWithTheirParentsAndAWrongParentIsAConflict()
    {
        using var client = Server.CreateClient();

        var listed = await client.GetStringAsync(new Uri("/layers", UriKind.Relative));
        using var wrong = await client.GetAsync(new Uri("/layers/child/tar?parent=child", UriKind.Relative));

        Assert.Contains("\"id\":\"child\",\"parent\":\"base\"", listed, StringComparison.Ordinal);
        await ProblemAssert.IsProblemAsync(wrong, HttpStatusCode.Conflict);
    }
}
