using System.Text.RegularExpressions;
using LayerExport.TestSupport;

namespace SidecarTests.Infrastructure;

/// <summary>The built LayerExportApi.dll running in its own process (<c>dotnet LayerExportApi.dll --urls http://127.0.0.1:0</c>).</summary>
/// <remarks>The bound address comes from the "Now listening on" log line; dispose kills the process by its PID.</remarks>
internal sealed partial class ApiServerProcess : IDisposable
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);
    private readonly LoggedProcess _process;

    private ApiServerProcess(LoggedProcess process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int Pid => _process.Id;

    /// <summary>Starts a server over <paramref name="storeRoot"/> with its digest cache in <paramref name="digestCacheDirectory"/>.</summary>
    /// <param name="storeRoot">LayerStore:Root.</param>
    /// <param name="digestCacheDirectory">DigestCache:Directory.</param>
    /// <param name="settings">More configuration, by key (e.g. <c>Export:Threads</c>); passed as environment variables.</param>
    public static async Task<ApiServerProcess> StartAsync(string storeRoot, string digestCacheDirectory, IReadOnlyDictionary<string, string>? settings = null)
    {
        // The test's output directory holds the API's dll, runtimeconfig, deps and appsettings.json (the content root).
        var directory = AppContext.BaseDirectory;
        var dll = Path.Combine(directory, "LayerExportApi.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: the test project must reference src/LayerExportApi.");
        var environment = new Dictionary<string, string>
        {
            ["LayerStore__Root"] = storeRoot,
            ["DigestCache__Directory"] = digestCacheDirectory,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = LoggedProcess.Start(ExternalTool.Require("dotnet"), [dll, "--urls", "http://127.0.0.1:0"], directory, environment);
        try
        {
            var listening = await process.WaitForLineAsync(ListeningLine(), StartDeadline);
            return new ApiServerProcess(process, new Uri(listening.Groups["address"].Value));
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>The server process's I/O counters now.</summary>
    public ProcessIoCounters ReadIoCounters() => ProcessIoCounters.Read(Pid);

    /// <summary>A client with one connection: requests run one after another (see <see cref="LoopbackHttp.CreateSequentialClient"/>).</summary>
    public HttpClient CreateClient() => LoopbackHttp.CreateSequentialClient(BaseAddress);

    /// <summary>A client with up to <paramref name="maxConnections"/> connections, for requests that run at the same time.</summary>
    public HttpClient CreateClient(int maxConnections) => LoopbackHttp.CreateClient(BaseAddress, maxConnections);

    public void Dispose() => _process.Dispose();

    [GeneratedRegex(@"Now listening on: (?<address>http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningLine();
}
