using System.Text.RegularExpressions;
using LayerExport.TestSupport;

namespace StressTests.Infrastructure;

/// <summary>The Release-built LayerExportApi.dll in its own process on 127.0.0.1, so its descriptors, threads and memory can be read from /proc.</summary>
/// <remarks>
/// <c>--urls http://127.0.0.1:0</c> lets the kernel pick a free loopback port; the bound address comes from the
/// "Now listening on" log line. Everything the server logs is kept. Dispose kills the process by its PID.
/// </remarks>
internal sealed class ServerProcess : IDisposable
{
    /// <summary>nobody/nogroup: the user an unprivileged server runs as, so file permissions bind it.</summary>
    public const int UnprivilegedId = 65534;

    private readonly LoggedProcess _process;

    private ServerProcess(LoggedProcess process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything the server logged so far.</summary>
    public string Output => _process.Output;

    /// <summary>Starts a server over <paramref name="storeRoot"/> with its digest cache in <paramref name="digestCacheDirectory"/>.</summary>
    /// <param name="storeRoot">LayerStore:Root.</param>
    /// <param name="digestCacheDirectory">DigestCache:Directory; created, and given to the server's user.</param>
    /// <param name="unprivileged">Runs the server as nobody (uid and gid 65534, no groups, no capabilities) through setpriv.</param>
    /// <param name="environment">More environment variables for the server process.</param>
    /// <param name="layout">LayerStore:Layout: <c>native</c> or <c>docker</c> (a Docker data-root).</param>
    public static async Task<ServerProcess> StartAsync(string storeRoot, string digestCacheDirectory, bool unprivileged = false, IReadOnlyDictionary<string, string>? environment = null, string layout = "native")
    {
        Directory.CreateDirectory(digestCacheDirectory);
        var variables = new Dictionary<string, string>(environment ?? new Dictionary<string, string>())
        {
            ["LayerStore__Root"] = storeRoot,
            ["LayerStore__Layout"] = layout,
            ["DigestCache__Directory"] = digestCacheDirectory,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        };

        string[] launcher = [];
        if (unprivileged)
        {
            Posix.ChangeOwner(digestCacheDirectory, UnprivilegedId, UnprivilegedId);
            variables["HOME"] = digestCacheDirectory;

            // nobody cannot read trusted.* attributes; the suite's stores mark nothing with them.
            variables["LayerStore__AllowUnreadableTrustedXattrs"] = "true";

            // setpriv execs the server, so the PID stays the server's.
            launcher = ["setpriv", $"--reuid={UnprivilegedId}", $"--regid={UnprivilegedId}", "--clear-groups", "--inh-caps=-all", "--"];
        }

        var (process, baseAddress) = await LayerExportApiLauncher.StartAsync(variables, launcher);
        return new ServerProcess(process, baseAddress);
    }

    /// <summary>The server's descriptors, threads and memory now.</summary>
    public ProcessStatus ReadStatus() => ProcessStatus.Read(Pid);

    /// <summary>How many of the server's descriptors are open on <paramref name="directory"/> (an absolute path without symlinks) or anything under it.</summary>
    public int CountDescriptorsUnder(string directory)
    {
        var count = 0;
        foreach (var descriptor in Directory.EnumerateFileSystemEntries($"/proc/{Pid}/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(descriptor).LinkTarget;
            }
            catch (IOException)
            {
                // Closed since it was listed.
                continue;
            }

            if (target is not null && (target == directory || target.StartsWith(directory + "/", StringComparison.Ordinal)))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>A client with one connection: requests run one after another (see <see cref="LoopbackHttp.CreateSequentialClient"/>).</summary>
    public HttpClient CreateClient() => LoopbackHttp.CreateSequentialClient(BaseAddress);

    /// <summary>A client with up to <paramref name="maxConnections"/> connections, for requests that run at the same time.</summary>
    public HttpClient CreateClient(int maxConnections) => LoopbackHttp.CreateClient(BaseAddress, maxConnections);

    /// <summary>How many log lines so far match <paramref name="pattern"/>.</summary>
    public int CountLogLines(Regex pattern) => _process.CountLines(pattern);

    /// <summary>The log lines so far that match <paramref name="pattern"/>.</summary>
    public IReadOnlyList<string> LogLines(Regex pattern) => _process.Lines(pattern);

    /// <summary>The first log line matching <paramref name="pattern"/>, waiting up to <paramref name="deadline"/>.</summary>
    public Task<Match> WaitForLogLineAsync(Regex pattern, TimeSpan deadline) => _process.WaitForLineAsync(pattern, deadline);

    public void Dispose() => _process.Dispose();
}
