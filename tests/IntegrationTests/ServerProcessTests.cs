using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>The built server run as its own process: start-up validation, configuration, listening address.</summary>
public sealed class ServerProcessTests : IDisposable
{
    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("env-base")
        .AddLayer("env-child", parent: "env-base");

    private readonly DirectoryInfo _contentRoot = Directory.CreateTempSubdirectory("content-root-");

    public void Dispose()
    {
        _store.Dispose();
        _contentRoot.Delete(recursive: true);
    }

    [Theory]
    [InlineData("/nonexistent", "LayerStore:Root does not name an existing directory: /nonexistent.")]
    [InlineData("", "LayerStore:Root is required: the directory that holds the layers.")]
    [InlineData("   ", "LayerStore:Root is required: the directory that holds the layers.")]
    public async Task AnUnusableStoreRootStopsStartUpWithExitCode1AndSaysWhy(string root, string message)
    {
        var output = await ServerProcess.AssertStartUpFailureAsync(new Dictionary<string, string> { ["LayerStore__Root"] = root }, message);

        Assert.DoesNotContain("Now listening on", output, StringComparison.Ordinal);

        // One reason only: an empty root is not also said to be a directory that does not exist.
        var fatal = Assert.Single(output.Split('\n'), line => line.Contains("LayerExport cannot start: ", StringComparison.Ordinal));
        Assert.Single(fatal.Split("LayerStore:Root ").Skip(1));
    }

    // The root exists for a user who may not enter it, so only opening it tells; that was a stack trace.
    [Fact]
    public async Task AStoreRootTheServersUserCannotOpenStopsStartUpWithOneLine()
    {
        var chmod = await ProcessRunner.RunAsync("chmod", ["700", _store.Root]);
        Assert.True(chmod.ExitCode == 0, chmod.Describe());
        await ServerProcess.AssertStartUpFailureAsync(
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root, ["LayerStore__AllowUnreadableTrustedXattrs"] = "true", ["DigestCache__Directory"] = "" },
            $"LayerStore:Root cannot be opened by this process: {_store.Root}: Permission denied.",
            wrapper: ServerProcess.AsNobody);
    }

    // A service's working directory is often "/": watching the settings files there for changes put an inotify watch
    // on every directory of the file system (74,300 here), the layer store's included.
    [Fact]
    public async Task TheServerWatchesNoDirectoryOfItsWorkingDirectoryForSettingsChanges()
    {
        for (var i = 0; i < 20; i++)
        {
            Directory.CreateDirectory(Path.Combine(_contentRoot.FullName, $"d{i}", "sub"));
        }

        await using var server = ServerProcess.Start(
            _contentRoot.FullName,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root },
            "--urls", "http://127.0.0.1:0");
        await server.WaitUntilListeningAsync();

        Assert.Equal(0, InotifyWatches(server.Id));
        await server.KillAsync();
    }

    // Each watch of an inotify descriptor is one "inotify wd:" line of its fdinfo.
    private static int InotifyWatches(int pid) => Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd")
        .Where(static fd => new FileInfo(fd).LinkTarget == "anon_inode:inotify")
        .Sum(fd => File.ReadLines($"/proc/{pid}/fdinfo/{Path.GetFileName(fd)}").Count(static line => line.StartsWith("inotify wd:", StringComparison.Ordinal)));

    [Theory]
    [InlineData("Auto", "zstd compresses with native libzstd 1.5.7 (")]
    [InlineData("Managed", "zstd compresses with managed ZstdSharp.Port (zstd 1.5.7)")]
    public async Task TheLogSaysWhichZstdImplementationCompresses(string library, string message)
    {
        await using var server = ServerProcess.Start(
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root, ["Export__Zstd__Library"] = library },
            "--urls", "http://127.0.0.1:0");

        await server.WaitUntilListeningAsync();

        Assert.Contains(message, server.Output, StringComparison.Ordinal);
        await server.KillAsync();
    }

    // A preloaded libzstd would stand in for the shipped library's internal calls: another version inside ours.
    [Fact]
    public async Task APreloadedLibzstdLeavesZstdToTheManagedPort()
    {
        // Debian's libzstd1, which the zstd command the tests install depends on, in its multiarch directory.
        var preloaded = Directory.GetDirectories("/usr/lib").Select(directory => Path.Combine(directory, "libzstd.so.1")).First(File.Exists);
        await using var server = ServerProcess.Start(
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root, ["LD_PRELOAD"] = preloaded },
            "--urls", "http://127.0.0.1:0");

        await server.WaitUntilListeningAsync();

        Assert.Contains("zstd compresses with managed ZstdSharp.Port (zstd 1.5.7), the same bytes more slowly: another libzstd is already loaded", server.Output, StringComparison.Ordinal);
        await server.KillAsync();
    }

    // The shipped libzstd is looked for by path in the build's own directories only; one that is gone or cannot serve
    // leaves zstd to the managed port, and the log line says which file and why.
    [Theory]
    [InlineData("missing", "libzstd.so is not among the application's native libraries (no build of the ZstdNet package for ")]
    [InlineData("not a library", "{0} does not load on this system")]
    [InlineData("another library", "{0} is not a libzstd")]
    public async Task AShippedLibzstdThatCannotServeLeavesZstdToTheManagedPortSayingWhy(string replacement, string reason)
    {
        var build = _contentRoot.FullName;
        ServerProcess.CopyBuild(build);
        var shipped = Path.Combine(build, "runtimes", RuntimeInformation.RuntimeIdentifier, "native", "libzstd.so");
        File.Delete(shipped);
        if (replacement == "not a library")
        {
            File.WriteAllText(shipped, "not an ELF file");
        }
        else if (replacement == "another library")
        {
            File.Copy(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "libSystem.Native.so"), shipped);
        }

        await using var server = ServerProcess.StartCopy(build, build, new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root }, "--urls", "http://127.0.0.1:0");

        await server.WaitUntilListeningAsync();

        Assert.Contains(
            "zstd compresses with managed ZstdSharp.Port (zstd 1.5.7), the same bytes more slowly: " + string.Format(CultureInfo.InvariantCulture, reason, shipped),
            server.Output,
            StringComparison.Ordinal);
        await server.KillAsync();
    }

    // The application's own directory is only the last place looked in: a libzstd.so dropped there (a distribution's,
    // other bytes) does not take the shipped library's place.
    [Fact]
    public async Task ALibzstdBesideTheServerDoesNotTakeTheShippedOnesPlace()
    {
        var build = _contentRoot.FullName;
        ServerProcess.CopyBuild(build);
        File.WriteAllText(Path.Combine(build, "libzstd.so"), "not an ELF file");
        var shipped = Path.Combine(build, "runtimes", RuntimeInformation.RuntimeIdentifier, "native", "libzstd.so");

        await using var server = ServerProcess.StartCopy(build, build, new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root }, "--urls", "http://127.0.0.1:0");

        await server.WaitUntilListeningAsync();

        Assert.Contains($"zstd compresses with native libzstd 1.5.7 ({shipped})", server.Output, StringComparison.Ordinal);
        await server.KillAsync();
    }

    [Fact]
    public async Task AnUnknownZstdLibraryStopsStartUp()
    {
        await using var server = ServerProcess.Start(
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root, ["Export__Zstd__Library"] = "7" },
            "--urls", "http://127.0.0.1:0");

        Assert.Equal(1, await server.WaitForExitAsync());
        Assert.Contains("Export:Zstd:Library must be Auto, Native or Managed.", server.Output, StringComparison.Ordinal);
    }

    // Each in one line, naming the setting, without a stack trace.
    [Theory]
    [InlineData("Export__Zstd__Library", "Foo", "Export:Zstd:Library: 'Foo' is not one of Auto, Native, Managed.")]
    [InlineData("LayerStore__Access__RetryDelay", "abc", "LayerStore:Access:RetryDelay: 'abc' is not a time span such as 00:00:30.")]
    [InlineData("Limits__ConcurrentExports", "many", "Limits:ConcurrentExports: 'many' is not a whole number.")]
    [InlineData("Limits__MinResponseBytesPerSecond", "fast", "Limits:MinResponseBytesPerSecond: 'fast' is not a number.")]
    [InlineData("Listen__UnixSocketMode", "999", "Listen:UnixSocketMode must be octal permission bits such as 0660.")]
    [InlineData("Listen__UnixSocketPath", "/nonexistent-layer-export/api.sock", "Listen:UnixSocketPath '/nonexistent-layer-export/api.sock': its directory /nonexistent-layer-export does not exist; create it first.")]
    public async Task AMistypedSettingStopsStartUpWithOneLineThatNamesIt(string variable, string value, string message)
    {
        await ServerProcess.AssertStartUpFailureAsync(new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root, [variable] = value }, message);
    }

    // Just outside each range: the line names the setting as it is configured, not the options class's member. The
    // codec settings are part of what makes the bytes: a level the codec would clamp or refuse mid-export is refused up front.
    [Theory]
    [InlineData("Export__Gzip__Level", "0", "Export:Gzip:Level must be 1 to 9.")]
    [InlineData("Export__Gzip__Level", "10", "Export:Gzip:Level must be 1 to 9.")]
    [InlineData("Export__Gzip__BlockSize", "65535", "Export:Gzip:BlockSize must be 64 KiB to 64 MiB.")]
    [InlineData("Export__Gzip__BlockSize", "67108865", "Export:Gzip:BlockSize must be 64 KiB to 64 MiB.")]
    [InlineData("Export__Zstd__Level", "0", "Export:Zstd:Level must be 1 to 19.")]
    [InlineData("Export__Zstd__Level", "20", "Export:Zstd:Level must be 1 to 19.")]
    [InlineData("Export__Threads", "257", "Export:Threads must be 0 (one per core, at most 4) to 256.")]
    [InlineData("LayerStore__Access__RetryAttempts", "11", "LayerStore:Access:RetryAttempts must be 0 to 10.")]
    [InlineData("LayerStore__Access__RetryDelay", "00:00:10.001", "LayerStore:Access:RetryDelay must be 00:00:00 to 00:00:10.")]
    [InlineData("LayerStore__Access__PrepareTimeout", "00:00:00.999", "LayerStore:Access:PrepareTimeout must be 00:00:01 to 01:00:00.")]
    [InlineData("LayerStore__Access__ReadinessTimeout", "00:00:00.099", "LayerStore:Access:ReadinessTimeout must be 00:00:00.1 to 00:05:00.")]
    [InlineData("LayerStore__Access__ReadinessTimeout", "00:05:00.001", "LayerStore:Access:ReadinessTimeout must be 00:00:00.1 to 00:05:00.")]
    [InlineData("Limits__Connections", "0", "Limits:Connections must be 1 to 2147483647, or unset to follow the file descriptor limit.")]
    [InlineData("Limits__ConcurrentExports", "0", "Limits:ConcurrentExports must be 1 to 100000.")]
    [InlineData("DigestCache__SettleTime", "-00:00:00.001", "DigestCache:SettleTime must be 00:00:00 to 01:00:00.")]
    [InlineData("DigestCache__SettleTime", "01:00:00.001", "DigestCache:SettleTime must be 00:00:00 to 01:00:00.")]
    [InlineData("Limits__QueuedExports", "-1", "Limits:QueuedExports must be 0 to 1000000.")]
    [InlineData("Limits__QueueTimeout", "00:00:00", "Limits:QueueTimeout must be 00:00:00.001 to 01:00:00.")]
    [InlineData("Limits__RetryAfterSeconds", "86401", "Limits:RetryAfterSeconds must be 1 to 86400.")]
    [InlineData("Limits__MinResponseBytesPerSecond", "Infinity", "Limits:MinResponseBytesPerSecond must be 0 (no check) or a finite number of bytes per second, 1 or more.")]
    // Under 1 byte/s, Kestrel's write deadline for the other responses (bytes / rate) overflowed: 500s and stack traces.
    [InlineData("Limits__MinResponseBytesPerSecond", "0.000001", "Limits:MinResponseBytesPerSecond must be 0 (no check) or a finite number of bytes per second, 1 or more.")]
    [InlineData("Limits__MinResponseGracePeriod", "00:00:01", "Limits:MinResponseGracePeriod must be more than 00:00:01 and at most 01:00:00.")]
    [InlineData("Limits__ShutdownTimeout", "1.00:00:01", "Limits:ShutdownTimeout must be 00:00:00 to 1.00:00:00 (a day).")]
    [InlineData("Listen__UnixSocketMode", "", "Listen:UnixSocketMode must be octal permission bits such as 0660.")]
    public async Task ASettingOutsideItsRangeStopsStartUpNamingTheSetting(string variable, string value, string message)
    {
        await ServerProcess.AssertStartUpFailureAsync(new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root, [variable] = value }, message);
    }

    // Kestrel throws these from deep in its bind; they are the operator's to mend, so one line says which address.
    [Theory]
    [InlineData("not a url", "the server cannot listen: Invalid url: 'not a url' (addresses: not a url)")]
    [InlineData("http://192.0.2.1:80", "the server cannot listen: ")]
    public async Task AnAddressTheServerCannotListenOnStopsStartUpWithOneLine(string urls, string message)
    {
        var output = await ServerProcess.AssertStartUpFailureAsync(new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root }, message, urls);

        Assert.Contains($"(addresses: {urls})", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAddressInUseStopsStartUpWithOneLine()
    {
        using var other = new TcpListener(IPAddress.Loopback, 0);
        other.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)other.LocalEndpoint).Port}";

        await ServerProcess.AssertStartUpFailureAsync(
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root },
            $"the server cannot listen: Failed to bind to address {url}: address already in use.",
            url);
    }

    [Fact]
    public async Task AKestrelEndpointItCannotServeStopsStartUpWithOneLine()
    {
        var settings = new Dictionary<string, string>
        {
            ["LayerStore__Root"] = _store.Root,
            ["Kestrel__Endpoints__Quic__Url"] = "http://127.0.0.1:0",
            ["Kestrel__Endpoints__Quic__Protocols"] = "Http3",
        };

        // Kestrel binds the endpoints, not the --urls address: the line names what it was given.
        await ServerProcess.AssertStartUpFailureAsync(settings, "the server cannot listen: HTTP/3 requires HTTPS. (Kestrel endpoints: Quic http://127.0.0.1:0)");
    }

    [Theory]
    [InlineData("Export__Gzip__Level", "1")]
    [InlineData("Export__Gzip__Level", "9")]
    [InlineData("Export__Gzip__BlockSize", "65536")]
    [InlineData("Export__Gzip__BlockSize", "67108864")]
    [InlineData("Export__Zstd__Level", "1")]
    [InlineData("Export__Zstd__Level", "19")]
    public async Task ACodecSettingAtTheEdgeOfItsRangeIsAccepted(string variable, string value)
    {
        await using var server = ServerProcess.Start(
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root, [variable] = value },
            "--urls", "http://127.0.0.1:0");

        var address = await server.WaitUntilListeningAsync();

        Assert.Equal(["env-base", "env-child"], await LayerIdsAsync(address));
    }

    // Serilog's own refusals, which came with its stack trace.
    [Theory]
    [InlineData("Serilog__MinimumLevel__Default", "Loud", "the Serilog section cannot be applied: The value Loud is not a valid Serilog level.")]
    [InlineData("Serilog__WriteTo__0__Args__configure__0__Args__restrictedToMinimumLevel", "Loud", "the Serilog section cannot be applied: Requested value 'Loud' was not found.")]
    [InlineData("Serilog__Using__0", "Serilog.Sinks.Missing", "the Serilog section cannot be applied: Could not load file or assembly 'Serilog.Sinks.Missing")]
    public async Task ALoggingSettingSerilogRefusesStopsStartUpWithOneLine(string variable, string value, string message)
    {
        await ServerProcess.AssertStartUpFailureAsync(new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root, [variable] = value }, message);
    }

    [Fact]
    public async Task StartsOnTheGivenAddressServesLayersAndIsKilledByItsPid()
    {
        await using var server = ServerProcess.Start(
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root },
            "--urls", "http://127.0.0.1:0");

        var address = await server.WaitUntilListeningAsync();

        Assert.Equal(IPAddress.Loopback.ToString(), address.Host);
        Assert.NotEqual(0, address.Port);
        Assert.Equal(["env-base", "env-child"], await LayerIdsAsync(address));
        await server.KillAsync();
        Assert.True(server.HasExited);
    }

    [Fact]
    public async Task TheEnvironmentOverridesTheStoreRootOfAppsettings()
    {
        using var configured = TempLayerStore.Create().AddLayer("from-appsettings");
        var settings = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "appsettings.json")))!;
        settings["LayerStore"]!["Root"] = configured.Root;
        await File.WriteAllTextAsync(Path.Combine(_contentRoot.FullName, "appsettings.json"), settings.ToJsonString());

        await using (var fromFile = ServerProcess.Start(_contentRoot.FullName, new Dictionary<string, string>(), "--urls", "http://127.0.0.1:0"))
        {
            Assert.Equal(["from-appsettings"], await LayerIdsAsync(await fromFile.WaitUntilListeningAsync()));
        }

        await using var fromEnvironment = ServerProcess.Start(
            _contentRoot.FullName,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root },
            "--urls", "http://127.0.0.1:0");
        Assert.Equal(["env-base", "env-child"], await LayerIdsAsync(await fromEnvironment.WaitUntilListeningAsync()));
    }

    [Fact]
    public async Task StartedFromAnotherDirectoryItStillLogsWithItsShippedSettings()
    {
        // The working directory holds no appsettings.json, as when the dll is run by its path from elsewhere.
        await using var server = ServerProcess.Start(
            _contentRoot.FullName,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root },
            "--urls", "http://127.0.0.1:0");

        // "Now listening on" and the warning before it reach the output only through the shipped Serilog sink.
        var address = await server.WaitUntilListeningAsync();
        Assert.Equal(["env-base", "env-child"], await LayerIdsAsync(address));
        Assert.Contains("Authentication is off", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARelativeStoreRootIsTakenFromTheContentRootNotTheWorkingDirectory()
    {
        // A service unit starts the server from wherever; only the content root it is given says where the store is.
        var contentRoot = Path.GetDirectoryName(_store.Root)!;
        await using var server = ServerProcess.Start(
            _contentRoot.FullName,
            new Dictionary<string, string> { ["LayerStore__Root"] = Path.GetFileName(_store.Root) },
            "--contentRoot", contentRoot, "--urls", "http://127.0.0.1:0");

        Assert.Equal(["env-base", "env-child"], await LayerIdsAsync(await server.WaitUntilListeningAsync()));
    }

    // Near what the idle server holds, the runtime may abort under load, where nothing can report it: told at start.
    [Theory]
    [InlineData(2048, true)]
    [InlineData(4096, false)]
    public async Task ALowDescriptorLimitIsWarnedOfAtStart(int limit, bool warned)
    {
        await using var server = ServerProcess.StartUnder(
            ["prlimit", $"--nofile={limit}:{limit}", "--"],
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root },
            "--urls", "http://127.0.0.1:0");

        await server.WaitUntilListeningAsync();

        Assert.Equal(warned, server.Output.Contains($"The file descriptor limit is {limit}: ", StringComparison.Ordinal));
    }

    // A log pipe a supervisor stopped reading: the console sink must not hold requests, and their export slots, on it.
    [Fact]
    public async Task AServerWhoseLogNobodyReadsKeepsServing()
    {
        await using var server = ServerProcess.Start(
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root },
            "--urls", "http://127.0.0.1:0");
        using var client = new HttpClient { BaseAddress = await server.WaitUntilListeningAsync(), Timeout = CapturedLogs.SafetyTimeout };
        server.StopReadingOutput();

        // Each request logs a line of about 90 bytes: 2,000 of them are three times what a pipe holds.
        for (var request = 0; request < 2_000; request++)
        {
            using var response = await client.GetAsync(new Uri("/layers/env-child", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    private static async Task<List<string?>> LayerIdsAsync(Uri server)
    {
        using var client = new HttpClient { BaseAddress = server };
        var listing = await client.GetStringAsync(new Uri("/layers", UriKind.Relative));
        return [.. JsonDocument.Parse(listing).RootElement.EnumerateArray().Select(e => e.GetProperty("id").GetString())];
    }
}
