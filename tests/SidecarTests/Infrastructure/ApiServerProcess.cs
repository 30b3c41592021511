using LayerExport.TestSupport;

namespace SidecarTests.Infrastructure;

/// <summary>The built LayerExportApi.dll running in its own process (<c>dotnet LayerExportApi.dll --urls http://127.0.0.1:0</c>).</summary>
/// <remarks>The bound address comes from the "Now listening on" log line; dispose kills the process by its PID.</remarks>
internal sealed class ApiServerProcess : IDisposable
{
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
        var environment = new Dictionary<string, string>
        {
            ["LayerStore__Root"] = storeRoot,
            ["DigestCache__Directory"] = digestCacheDirectory,
            ["DigestCache__SettleTime"] = TestSettings.SettledAtOnce,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var (process, baseAddress) = await LayerExportApiLauncher.StartAsync(environment, launcher: []);
        return new ApiServerProcess(process, baseAddress);
    }

    /// <summary>The server process's I/O counters now.</summary>
    public ProcessIoCounters ReadIoCounters() => ProcessIoCounters.Read(Pid);

    /// <summary>A client with one connection: requests run one after another (see <see cref="LoopbackHttp.CreateSequentialClient"/>).</summary>
    public HttpClient CreateClient() => LoopbackHttp.CreateSequentialClient(BaseAddress);

    /// <summary>A client with up to <paramref name="maxConnections"/> connections, for requests that run at the same time.</summary>
    public HttpClient CreateClient(int maxConnections) => LoopbackHttp.CreateClient(BaseAddress, maxConnections);

    public void Dispose() => _process.Dispose();
}
