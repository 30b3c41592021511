namespace LayerExport.TestSupport;

/// <summary>HTTP clients for servers on 127.0.0.1: no proxy, no automatic decompression, no timeout for large bodies.</summary>
/// <remarks>The caller says how many connections the client may open; there is no default.</remarks>
public static class LoopbackHttp
{
    /// <summary>A client of <paramref name="baseAddress"/> with exactly one connection.</summary>
    /// <remarks>
    /// Requests then run one after another on the same connection, so a request that follows a completed one is
    /// only read by the server once the server has finished with the previous one.
    /// </remarks>
    public static HttpClient CreateSequentialClient(Uri baseAddress) => CreateClient(baseAddress, maxConnections: 1);

    /// <summary>A client of <paramref name="baseAddress"/> with up to <paramref name="maxConnections"/> connections, for requests that run at the same time.</summary>
    public static HttpClient CreateClient(Uri baseAddress, int maxConnections) =>
        new(new SocketsHttpHandler
        {
            UseProxy = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            MaxConnectionsPerServer = maxConnections,
        })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromMinutes(5),
        };
}
