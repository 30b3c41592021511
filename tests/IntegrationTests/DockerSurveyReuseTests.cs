using System.Net;
using System.Security.Cryptography;
using IntegrationTests.Support;
using LayerExport.Core.Tests.Support;

namespace IntegrationTests;

/// <summary>
/// A whole download of a Docker layer takes the layer's last survey (<c>LayerStore:Access:ReuseLastSurvey</c>) only once
/// an export has seen that state rebuild the recorded diffID: its export walks nothing then, and a survey of a state gone
/// since would announce that state's verdict.
/// </summary>
public sealed class DockerSurveyReuseTests : IAsyncLifetime
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("docker-survey-reuse-");
    private string _chain = "";
    private byte[] _tar = [];

    public async Task InitializeAsync() => (_chain, _tar) = await DockerDataRoot.AddLayerAsync(_root.FullName, "layer", parent: null, "--format=gnu");

    public Task DisposeAsync()
    {
        _root.Delete(recursive: true);
        return Task.CompletedTask;
    }

    // A file damaged and then put back, as a user repairing a store does: the state surveyed last was found unable to
    // rebuild the diffID, and announces none; the repaired layer's downloads must announce it again.
    [Fact]
    public async Task AfterARepairedFileWholeDownloadsAnnounceTheRecordedDiffIdAgain()
    {
        await using var server = ApiServer.Start(_root.FullName, settings: new Dictionary<string, string> { ["LayerStore:Layout"] = "docker" });
        using var client = server.CreateClient();
        var config = Path.Combine(_root.FullName, $"overlay2/{DockerDataRoot.CacheId("layer")}/diff/etc/config.txt");
        var original = await File.ReadAllBytesAsync(config);

        // Each write a new inode: every state has its own fingerprint, however coarse the file system's clock.
        await ReplaceAsync(config, [.. original.Select(static b => (byte)(b ^ 0x20))]);
        using (var damaged = await client.GetAsync(new Uri($"/layers/{_chain}/descriptor", UriKind.Relative)))
        {
            await ProblemAssert.IsProblemAsync(damaged, HttpStatusCode.InternalServerError);
        }

        await ReplaceAsync(config, original);
        using var first = await client.GetAsync(new Uri($"/layers/{_chain}/tar", UriKind.Relative));
        var firstBody = await first.Content.ReadAsByteArrayAsync();
        using var second = await client.GetAsync(new Uri($"/layers/{_chain}/tar", UriKind.Relative));
        var secondBody = await second.Content.ReadAsByteArrayAsync();

        var diffId = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(_tar));
        Assert.Equal(_tar, firstBody);
        Assert.Equal(_tar, secondBody);
        Assert.Equal(diffId, first.Headers.GetValues("Docker-Content-Digest").Single());
        Assert.Equal(diffId, second.Headers.GetValues("Docker-Content-Digest").Single());
    }

    private static async Task ReplaceAsync(string path, byte[] content)
    {
        await File.WriteAllBytesAsync(path + ".new", content);
        File.Move(path + ".new", path, overwrite: true);
    }
}
