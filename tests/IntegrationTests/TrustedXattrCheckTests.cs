using System.Net;
using IntegrationTests.Support;
using LayerExport.Core.Store;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Events;

namespace IntegrationTests;

/// <summary>
/// An overlay-form store marks opaque directories in trusted.* xattrs, which the kernel hides from an unprivileged
/// process as if they were not set: such a process must not start (or must name what it cannot judge).
/// </summary>
public sealed class TrustedXattrCheckTests : IDisposable
{
    private const string Nobody = "65534";

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("base")
        .AddFile("base", "etc/hostname", "base\n"u8.ToArray())
        .AddLayer("opaque", parent: "base")
        .AddFile("opaque", "etc/hosts", "127.0.0.1 localhost\n"u8.ToArray());

    public TrustedXattrCheckTests()
    {
        var setfattr = ProcessRunner.RunAsync("setfattr", ["-n", "trusted.overlay.opaque", "-v", "y", Path.Combine(_store.DiffPath("opaque"), "etc")]).GetAwaiter().GetResult();
        Assert.True(setfattr.ExitCode == 0, setfattr.Describe());

        // Readable by anyone, so that only the hidden attributes stand between an unprivileged server and the layers.
        var chmod = ProcessRunner.RunAsync("chmod", ["-R", "a+rX", _store.Root]).GetAwaiter().GetResult();
        Assert.True(chmod.ExitCode == 0, chmod.Describe());
    }

    public void Dispose() => _store.Dispose();

    [Fact]
    public void TheTestRunnerAsRootCanReadTrustedXattrs()
    {
        var access = TrustedXattrAccess.OfThisProcess();

        Assert.True(access.CanRead, $"these tests run as root, yet: {access.Reason}");
    }

    [Theory]
    [InlineData("CapEff:\t000001ffffffffff\n", "         0          0 4294967295\n", true)]
    [InlineData("CapEff:\t0000000000200000\n", "0 0 4294967295", true)]
    [InlineData("CapEff:\t0000000000000000\n", "         0          0 4294967295\n", false)]
    [InlineData("CapEff:\t000001ffffdfffff\n", "         0          0 4294967295\n", false)]
    [InlineData("CapEff:\t000001ffffffffff\n", "         0     100000      65536\n", false)]
    [InlineData("Name:\tx\n", "0 0 4294967295", false)]
    public void TheVerdictNeedsCapSysAdminInTheInitialUserNamespace(string status, string uidMap, bool canRead)
    {
        var access = TrustedXattrAccess.FromProcFiles(status, uidMap);

        Assert.Equal(canRead, access.CanRead);
        Assert.False(string.IsNullOrWhiteSpace(access.Reason));
    }

    [Fact]
    public async Task AnUnprivilegedServerRefusesToStartOverAStoreItCannotJudge()
    {
        await using var server = ServerProcess.StartUnder(
            ["setpriv", $"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "--"],
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root, ["DigestCache__Directory"] = "" },
            "--urls", "http://127.0.0.1:0");

        var exitCode = await server.WaitForExitAsync();

        Assert.True(exitCode == 1, $"exit code {exitCode}:{Environment.NewLine}{server.Output}");
        Assert.Contains("LayerExport cannot start: this process cannot read trusted.* extended attributes (the process lacks CAP_SYS_ADMIN)", server.Output, StringComparison.Ordinal);

        // The rest of the line is the operator's guide: what would go wrong, and the two ways out.
        Assert.Contains(
            "where overlayfs marks opaque directories and whiteouts in a native store: such directories would export as ordinary ones, "
            + "a wrong layer with no error. Run as root (CAP_SYS_ADMIN in the initial user namespace), or set "
            + "LayerStore:AllowUnreadableTrustedXattrs=true for a store that marks them only with user.overlay.* or .wh..wh..opq.",
            server.Output,
            StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening on", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AllowedToStartUnprivilegedItNamesTheLayersItCannotJudge()
    {
        await using var server = ServerProcess.StartUnder(
            ["setpriv", $"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "--"],
            AppContext.BaseDirectory,
            new Dictionary<string, string>
            {
                ["LayerStore__Root"] = _store.Root,
                ["LayerStore__AllowUnreadableTrustedXattrs"] = "true",
                ["DigestCache__Directory"] = "",
            },
            "--urls", "http://127.0.0.1:0");

        var address = await server.WaitUntilListeningAsync();
        using var client = new HttpClient { BaseAddress = address };
        using var response = await client.GetAsync(new Uri("/layers", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var warning = Assert.Single(server.Output.Split('\n'), line => line.Contains("trusted.* extended attributes are invisible to this process", StringComparison.Ordinal));
        Assert.Contains("ERR]", warning, StringComparison.Ordinal);
        Assert.EndsWith(": base, opaque", warning.TrimEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AsRootTheOpaqueMarkIsSeenAndExported()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();
        var archive = Path.Combine(_store.Root, "..", Path.GetFileName(_store.Root) + ".tar");
        await File.WriteAllBytesAsync(archive, await client.GetByteArrayAsync(new Uri("/layers/opaque/tar", UriKind.Relative)));
        try
        {
            Assert.Contains("etc/.wh..wh..opq", await GnuTar.ListNamesAsync(archive));
        }
        finally
        {
            File.Delete(archive);
        }
    }

    [Fact]
    public async Task ASimulatedUnprivilegedProbeWithPermissionNamesTheLayersInTheLog()
    {
        await using var server = ApiServer.Start(
            _store.Root,
            services => services.AddSingleton(new TrustedXattrAccess(false, "simulated: no CAP_SYS_ADMIN")),
            settings: new Dictionary<string, string> { ["LayerStore:AllowUnreadableTrustedXattrs"] = "true" });

        var logged = await server.Logs.WaitForAsync(e => e.MessageTemplate.Text.StartsWith("trusted.* extended attributes are invisible", StringComparison.Ordinal), "the layers that cannot be judged");

        Assert.Equal(LogEventLevel.Error, logged.Level);
        Assert.Equal("simulated: no CAP_SYS_ADMIN", CapturedLogs.Property(logged, "Reason"));
        Assert.Equal("base, opaque", CapturedLogs.Property(logged, "Layers"));
    }
}
