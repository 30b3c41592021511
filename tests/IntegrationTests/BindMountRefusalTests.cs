using System.Net;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>A file bind-mounted into a layer from the same file system is refused before any byte, like any mount point.</summary>
public sealed class BindMountRefusalTests : IAsyncLifetime, IDisposable
{
    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("bound")
        .AddFile("bound", "secretfile", []);

    private readonly string _outside = Directory.CreateTempSubdirectory("bind-source-").FullName;

    private string Target => Path.Combine(_store.DiffPath("bound"), "secretfile");

    public async Task InitializeAsync()
    {
        var source = Path.Combine(_outside, "secret");
        await File.WriteAllTextAsync(source, "SECRET from outside the layer");
        var mount = await ProcessRunner.RunAsync("mount", ["--bind", source, Target]);
        Assert.True(mount.ExitCode == 0, mount.Describe());
    }

    public async Task DisposeAsync()
    {
        var umount = await ProcessRunner.RunAsync("umount", [Target]);
        Assert.True(umount.ExitCode == 0, umount.Describe());
    }

    public void Dispose()
    {
        _store.Dispose();
        Directory.Delete(_outside, recursive: true);
    }

    [Fact]
    public async Task TheTarIsALayerUnreadableProblemNamingTheMountPoint()
    {
        await using var server = ApiServer.Start(_store.Root, settings: new Dictionary<string, string> { ["DigestCache:Directory"] = "" });
        using var client = server.CreateClient();

        using var response = await client.GetAsync(new Uri("/layers/bound/tar", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.Equal("urn:layer-export:problem:layer-unreadable", problem.GetProperty("type").GetString());
        Assert.StartsWith("secretfile: it is a mount point", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
