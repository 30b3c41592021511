using System.Net;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>A layer nested deeper than the server's descriptor limit could hold open at once still exports whole.</summary>
public sealed class DeepLayerTests : IDisposable
{
    // 1,500 levels of "d/" fit a path (3,000 bytes) yet are more directories than 1,024 descriptors can hold open.
    private const int Depth = 1_500;

    private readonly TempLayerStore _store = TempLayerStore.Create().AddLayer("deep");
    private readonly string _download = Path.Combine(Path.GetTempPath(), $"deep-{Guid.NewGuid():N}.tar");

    public void Dispose()
    {
        _store.Dispose();
        File.Delete(_download);
    }

    // With a descriptor for every level entered, both the metadata walk and the export ran out (503 every time).
    [Fact]
    public async Task ALayerDeeperThanTheDescriptorLimitIsDownloadedWhole()
    {
        var innermost = string.Join('/', Enumerable.Repeat("d", Depth));
        _store.AddFile("deep", innermost + "/f", "bottom\n"u8.ToArray());
        await using var server = ServerProcess.StartUnder(
            ["prlimit", "--nofile=1024:1024", "--"],
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root },
            "--urls", "http://127.0.0.1:0");
        using var client = new HttpClient { BaseAddress = await server.WaitUntilListeningAsync(), Timeout = CapturedLogs.SafetyTimeout };

        using var response = await client.GetAsync(new Uri("/layers/deep/tar", UriKind.Relative));
        await using (var file = File.Create(_download))
        {
            await response.Content.CopyToAsync(file);
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var names = await GnuTar.ListNamesAsync(_download);
        Assert.Equal(Depth + 1, names.Count);
        Assert.Equal(innermost + "/f", names[^1]);
        Assert.Equal("bottom\n", await GnuTar.ReadMemberAsync(_download, innermost + "/f"));
    }
}
