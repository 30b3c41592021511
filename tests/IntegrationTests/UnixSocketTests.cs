using System.Net;
using System.Net.Sockets;
using IntegrationTests.Support;
using LayerExport.Core.Native;

namespace IntegrationTests;

/// <summary>The optional Unix domain socket listener: same API as over TCP, its file mode and group, stale files replaced, nothing else removed.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class UnixSocketTests : IDisposable
{
    private const string Layer = "base";

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer(Layer)
        .AddPatternFile(Layer, "data/blob.bin", (3 * 1024 * 1024) + 5);

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("sockets-");

    private string SocketPath => Path.Combine(_directory.FullName, "layer-export.sock");

    public void Dispose()
    {
        _store.Dispose();
        _directory.Delete(recursive: true);
    }

    [Fact]
    public async Task TheTarOverTheSocketIsTheTarOverTcpAndTheSocketHasItsMode()
    {
        await using var server = StartInProcess("0600");
        Assert.Contains($"http://unix:{SocketPath}", server.Addresses);
        Assert.Equal(SocketPathKind.Socket, LayerExport.Core.Native.SocketPath.Inspect(SocketPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(SocketPath));

        using var unix = UnixSocketHttp.CreateClient(SocketPath);
        using var overSocket = await unix.GetAsync(new Uri($"/layers/{Layer}/tar", UriKind.Relative));
        var socketBytes = await overSocket.Content.ReadAsByteArrayAsync();
        using var tcp = server.CreateClient();
        var tcpBytes = await tcp.GetByteArrayAsync(new Uri($"/layers/{Layer}/tar", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, overSocket.StatusCode);
        Assert.Equal(overSocket.Content.Headers.ContentLength, socketBytes.Length);
        Assert.True(socketBytes.Length > 3 * 1024 * 1024);
        Assert.Equal(tcpBytes, socketBytes);
    }

    [Fact]
    public async Task CurlDownloadsOverTheSocket()
    {
        await using var server = StartInProcess("0660");
        Assert.Equal(
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite,
            File.GetUnixFileMode(SocketPath));
        var target = Path.Combine(_directory.FullName, "layer.tar");

        var curl = await ProcessRunner.RunAsync("curl", ["-fsS", "--unix-socket", SocketPath, "-o", target, $"http://localhost/layers/{Layer}/tar"]);
        var ready = await SocketReadyAsync(server);

        Assert.True(curl.ExitCode == 0, curl.Describe());
        using var tcp = server.CreateClient();
        Assert.Equal(await tcp.GetByteArrayAsync(new Uri($"/layers/{Layer}/tar", UriKind.Relative)), await File.ReadAllBytesAsync(target));
        Assert.Equal($"Listening on the Unix domain socket \"{SocketPath}\", mode \"0660\", group \"(the server's)\"", ready.RenderMessage());
    }

    [Theory]
    [InlineData("4242", 4242u)]
    [InlineData("daemon", 1u)]
    public async Task TheSocketBelongsToTheConfiguredGroup(string group, uint expectedId)
    {
        await using var server = StartInProcess("0660", group);

        var owner = await ProcessRunner.RunAsync("stat", ["-c", "%u %g", SocketPath]);
        var self = await ProcessRunner.RunAsync("id", ["-u"]);

        Assert.True(owner.ExitCode == 0 && self.ExitCode == 0, owner.Describe() + self.Describe());
        Assert.Equal($"{self.StandardOutput.Trim()} {expectedId}", owner.StandardOutput.Trim());
        Assert.Equal(group, CapturedLogs.Property(await SocketReadyAsync(server), "Group"));
        using var unix = UnixSocketHttp.CreateClient(SocketPath);
        Assert.Equal(HttpStatusCode.OK, (await unix.GetAsync(new Uri("/layers", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task AnUnknownGroupStopsStartUpBeforeAnythingIsBound()
    {
        await using var server = ServerProcess.Start(
            AppContext.BaseDirectory,
            new Dictionary<string, string>
            {
                ["LayerStore__Root"] = _store.Root,
                ["Listen__UnixSocketPath"] = SocketPath,
                ["Listen__UnixSocketGroup"] = "no-such-group-layerexport",
            },
            "--urls", "http://127.0.0.1:0");

        var exitCode = await server.WaitForExitAsync();

        Assert.True(exitCode == 1, $"exit code {exitCode}: {server.Output}");
        Assert.Contains("Listen:UnixSocketGroup 'no-such-group-layerexport' is no group this system knows.", server.Output, StringComparison.Ordinal);
        Assert.Equal(SocketPathKind.Nothing, LayerExport.Core.Native.SocketPath.Inspect(SocketPath));
    }

    // Only root or a member may give a file to a group; that was a stack trace after the bind, naming no setting.
    [Fact]
    public async Task AGroupTheServersUserMayNotGiveTheSocketToStopsStartUpWithOneLine()
    {
        Assert.Equal(0, (await ProcessRunner.RunAsync("chmod", ["777", _directory.FullName])).ExitCode);
        Assert.Equal(0, (await ProcessRunner.RunAsync("chmod", ["755", _store.Root])).ExitCode);
        await using var server = ServerProcess.StartUnder(
            ServerProcess.AsNobody,
            AppContext.BaseDirectory,
            new Dictionary<string, string>
            {
                ["LayerStore__Root"] = _store.Root,
                ["LayerStore__AllowUnreadableTrustedXattrs"] = "true",
                ["DigestCache__Directory"] = "",
                ["Listen__UnixSocketPath"] = SocketPath,
                ["Listen__UnixSocketGroup"] = "0",
            },
            "--urls", "http://127.0.0.1:0");

        var exitCode = await server.WaitForExitAsync();

        Assert.True(exitCode == 1, $"exit code {exitCode}: {server.Output}");
        Assert.Contains(
            $"LayerExport cannot start: Listen:UnixSocketGroup '0': the socket cannot be given to that group ({SocketPath}: Operation not permitted); the server's user must be root or a member of it.",
            server.Output,
            StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASocketFileLeftByAnEarlierRunIsReplaced()
    {
        // A process that bound the socket and died: .NET would remove the file on dispose, so another runtime leaves it.
        var earlier = await ProcessRunner.RunAsync("python3", ["-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", SocketPath]);
        Assert.True(earlier.ExitCode == 0, earlier.Describe());

        Assert.Equal(SocketPathKind.Socket, LayerExport.Core.Native.SocketPath.Inspect(SocketPath));
        Assert.False(UnixSocketHttp.Accepts(SocketPath));

        await using var server = StartInProcess("0660");
        using var unix = UnixSocketHttp.CreateClient(SocketPath);

        Assert.Equal(HttpStatusCode.OK, (await unix.GetAsync(new Uri("/layers", UriKind.Relative))).StatusCode);
        await server.Logs.WaitForAsync(e => e.MessageTemplate.Text.StartsWith("Removed the stale socket file", StringComparison.Ordinal), "stale socket removed");
    }

    [Fact]
    public async Task ASocketSomeoneListensOnStopsStartUpAndKeepsWorking()
    {
        using var other = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        other.Bind(new UnixDomainSocketEndPoint(SocketPath));
        other.Listen();

        var (exitCode, output) = await RunServerProcessAsync();

        Assert.True(exitCode == 1, $"exit code {exitCode}: {output}");
        Assert.Contains($"LayerExport cannot start: Listen:UnixSocketPath '{SocketPath}': another process is listening on it.", output, StringComparison.Ordinal);
        Assert.True(UnixSocketHttp.Accepts(SocketPath), "the other process's socket was taken away");
    }

    // Kestrel's bind would fail with a stack trace on a path whose characters fit but whose bytes do not.
    [Fact]
    public async Task ASocketPathTooLongInBytesStopsStartUpWithOneLine()
    {
        var path = Listening.ListeningOptionsTests.PathOfBytes(108, _directory.FullName);

        var (exitCode, output) = await RunServerProcessAsync(path);

        Assert.True(exitCode == 1, $"exit code {exitCode}: {output}");
        Assert.Contains("LayerExport cannot start: Listen:UnixSocketPath must be at most 107 bytes in UTF-8", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASocketPathOfTheMostBytesAnAddressHoldsIsListenedOn()
    {
        var path = Listening.ListeningOptionsTests.PathOfBytes(107, _directory.FullName);

        await using var server = StartInProcess("0660", path: path);

        Assert.Contains($"http://unix:{path}", server.Addresses);
        Assert.Equal(SocketPathKind.Socket, LayerExport.Core.Native.SocketPath.Inspect(path));
    }

    [Fact]
    public async Task AFileThatIsNotASocketStopsStartUpAndIsLeftAlone()
    {
        await File.WriteAllTextAsync(SocketPath, "keep me");

        var (exitCode, output) = await RunServerProcessAsync();

        Assert.True(exitCode == 1, $"exit code {exitCode}: {output}");
        Assert.Contains($"Listen:UnixSocketPath '{SocketPath}' exists and is not a socket; it is left alone.", output, StringComparison.Ordinal);
        Assert.Equal("keep me", await File.ReadAllTextAsync(SocketPath));
    }

    // Kestrel binds configured endpoints alone: the socket would be passed over with a warning, never made.
    [Fact]
    public async Task ASocketBesideKestrelEndpointsStopsStartUpWithOneLine()
    {
        var output = await ServerProcess.AssertStartUpFailureAsync(
            new Dictionary<string, string>
            {
                ["LayerStore__Root"] = _store.Root,
                ["Listen__UnixSocketPath"] = SocketPath,
                ["Kestrel__Endpoints__Plain__Url"] = "http://127.0.0.1:0",
            },
            $"LayerExport cannot start: Listen:UnixSocketPath '{SocketPath}' cannot be listened on beside Kestrel:Endpoints");

        Assert.Contains("which Listen:UnixSocketMode and Listen:UnixSocketGroup do not apply to.", output, StringComparison.Ordinal);
        Assert.Equal(SocketPathKind.Nothing, LayerExport.Core.Native.SocketPath.Inspect(SocketPath));
    }

    [Fact]
    public async Task SocketOnlyListensOnTheSocketAlone()
    {
        await using var server = ServerProcess.Start(
            AppContext.BaseDirectory,
            new Dictionary<string, string>
            {
                ["LayerStore__Root"] = _store.Root,
                ["Listen__UnixSocketPath"] = SocketPath,
                ["Listen__UnixSocketOnly"] = "true",
            });

        var address = await server.WaitUntilListeningAsync();
        using var unix = UnixSocketHttp.CreateClient(SocketPath);
        using var response = await unix.GetAsync(new Uri("/layers", UriKind.Relative));

        Assert.Equal($"http://unix:{SocketPath}", address.OriginalString);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("Now listening on: http://127.0.0.1", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening on: http://localhost", server.Output, StringComparison.Ordinal);
    }

    // The line an operator reads to learn who may connect.
    private static Task<Serilog.Events.LogEvent> SocketReadyAsync(ApiServer server) =>
        server.Logs.WaitForAsync(e => e.MessageTemplate.Text.StartsWith("Listening on the Unix domain socket", StringComparison.Ordinal), "socket ready");

    private ApiServer StartInProcess(string mode, string group = "", string? path = null) => ApiServer.Start(
        _store.Root,
        settings: new Dictionary<string, string>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Listen:UnixSocketPath"] = path ?? SocketPath,
            ["Listen:UnixSocketMode"] = mode,
            ["Listen:UnixSocketGroup"] = group,
        },
        listenInCode: false);

    private async Task<(int ExitCode, string Output)> RunServerProcessAsync(string? path = null)
    {
        await using var server = ServerProcess.Start(
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root, ["Listen__UnixSocketPath"] = path ?? SocketPath },
            "--urls", "http://127.0.0.1:0");
        return (await server.WaitForExitAsync(), server.Output);
    }
}
