using IntegrationTests.Support;
using LayerExport.Core.Tests.Support;

namespace IntegrationTests;

/// <summary>
/// A reassembled (Docker) layer whose small file no longer has its recorded content, found once the body has started,
/// ends the body inside that file's entry: curl reports a short transfer and no tar reader takes what it saved for a
/// whole tar.
/// </summary>
/// <remarks>
/// The layer's 70,000-byte <c>a.bin</c> comes first (GNU tar sorting by name), more than the first flush of a body;
/// <c>etc/config.txt</c>, read ahead, is rewritten with other bytes of its recorded size, which only its CRC-64 tells.
/// </remarks>
public sealed class ReassembledFailureTests : IAsyncLifetime
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("reassembled-failure-");
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("reassembled-failure-work-");
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
        _work.Delete(recursive: true);
    }

    [Fact]
    public async Task CurlFailsAndGnuTarBsdtarAndPythonRejectWhatItSaved()
    {
        var config = Path.Combine(_root.FullName, "overlay2", DockerDataRoot.CacheId("a"), "diff", "etc", "config.txt");
        var recorded = await File.ReadAllBytesAsync(config);
        await File.WriteAllBytesAsync(config, [.. recorded.Select(static b => (byte)(b ^ 0x20))]);

        var curl = await ProcessRunner.RunAsync("curl", ["-sS", "-o", "a.tar", Server.Url($"/layers/{DockerDataRoot.ChainId("a")}/tar")], _work.FullName);
        Assert.True(curl.ExitCode == 18, $"curl did not report a short transfer: {curl.Describe()}");

        var listed = await TarReaders.AssertEachRejectsAsync(_work.FullName, "a.tar", "cut");

        // The body went out up to the altered file's header: GNU tar lists it, then finds its content missing.
        Assert.Contains("etc/config.txt", listed, StringComparison.Ordinal);
        await Server.Logs.WaitForExportOutcomeAsync(DockerDataRoot.ChainId("a"), "failed");
    }
}
