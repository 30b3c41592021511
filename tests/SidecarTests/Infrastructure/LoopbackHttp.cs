namespace SidecarTests.Infrastructure;

/// <summary>HTTP clients for servers on 127.0.0.1: no proxy, no automatic decompression, no timeout for large bodies.</summary>
internal static class LoopbackHttp
{
    /// <summary>A client of <paramref name="baseAddress"/>.</summary>
    /// <param name="baseAddress">The server.</param>
    /// <param name="maxConnections">
    /// One by default: requests then run one after another on the same connection, so a request that follows a
    /// completed one is only read by the server once the server has finished with the previous one.
    /// </param>
    public static HttpClient CreateClient(Uri baseAddress, int maxConnections = 1) =>
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
