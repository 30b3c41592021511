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
        var baseTree = Tree("base", parent: null);
        Directory.CreateDirectory(Path.Combine(baseTree, "etc"));
        await File.WriteAllTextAsync(Path.Combine(baseTree, "etc", "hostname"), "base\n");
        await File.WriteAllTextAsync(Path.Combine(baseTree, "etc", "removed"), "gone in child\n");

        var childTree = Tree("child", parent: "base");
        Directory.Delete(childTree);
        var copy = await ProcessRunner.RunAsync("cp", ["-a", baseTree, childTree]);
        Assert.True(copy.ExitCode == 0, copy.Describe());
        File.Delete(Path.Combine(childTree, "etc", "removed"));
        await File.WriteAllTextAsync(Path.Combine(childTree, "added"), "new in child\n");

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

    private string Tree(string id, string? parent)
    {
        var tree = Path.Combine(_root.FullName, id, "fs");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(_root.FullName, id, "layer.json"), parent is null ? "{}" : $"{{\"parent\":\"{parent}\"}}");
        return tree;
    }
}
